//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import AsyncHTTPClient
import Logging
import SlotgateCore
import SlotgateUpstream
import Synchronization
import Testing

/// Records the waits the client asks for and waits only a fraction of them, so retry tests stay fast.
final class SleepRecorder: Sendable {
    private let waits = Mutex<[Duration]>([])
    private let longest: Duration

    /// - Parameter longest: the longest real wait; longer requested waits are cut to it.
    init(longest: Duration = .milliseconds(20)) {
        self.longest = longest
    }

    var recorded: [Duration] { waits.withLock { $0 } }

    func sleep(_ duration: Duration) async throws {
        waits.withLock { $0.append(duration) }
        try await Task.sleep(for: min(duration, longest))
    }
}

/// Everything a client test against the simulator needs.
struct SimulatorContext: Sendable {
    let platform: SimulatedPlatform
    let client: AGPClient
    let baseURL: String
    let sleeps: SleepRecorder
    let logs: LogCapture

    /// Another client for the same simulator (a different key, say).
    func client(apiKey: String?, requestTimeout: Duration = .seconds(5)) -> AGPClient {
        AGPClient(
            configuration: AGPClientConfiguration(
                baseURL: baseURL,
                apiKey: apiKey.flatMap(APIKey.init),
                requestTimeout: requestTimeout,
                retry: client.configuration.retry,
                sleep: { try await sleeps.sleep($0) }
            ),
            httpClient: HTTPClient.shared,
            logger: logs.logger()
        )
    }
}

enum SimulatorHarness {
    static let key = "hk-sim-key"

    /// A simulator configuration accepting ``key``, whose sessions run until told to end, changed by `configure`.
    static func simulator(_ configure: (inout SimulatorConfiguration) -> Void = { _ in }) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration()
        configuration.apiKeys = [key]
        configuration.runDuration = nil
        configure(&configuration)
        return configuration
    }

    /// Runs `body` against a fresh simulator on loopback with a client using its key.
    static func run(
        simulator configuration: SimulatorConfiguration = simulator(),
        requestTimeout: Duration = .seconds(5),
        maxAttempts: Int = 3,
        sleeps: SleepRecorder = SleepRecorder(),
        _ body: @escaping @Sendable (SimulatorContext) async throws -> Void
    ) async throws {
        let platform = SimulatedPlatform(configuration: configuration)
        let logs = LogCapture()
        try await SimulatorServer.withRunning(platform) { baseURL in
            let client = AGPClient(
                configuration: AGPClientConfiguration(
                    baseURL: baseURL,
                    apiKey: APIKey(key),
                    requestTimeout: requestTimeout,
                    retry: RetryPolicy(
                        maxAttempts: maxAttempts,
                        backoff: Backoff(base: .milliseconds(1), cap: .milliseconds(10)),
                        jitter: .fixed(1)
                    ),
                    sleep: { try await sleeps.sleep($0) }
                ),
                httpClient: HTTPClient.shared,
                logger: logs.logger()
            )
            try await body(SimulatorContext(platform: platform, client: client, baseURL: baseURL, sleeps: sleeps, logs: logs))
            // Invariant 5: the key is in no log line, whatever the test did.
            #expect(logs.all.allSatisfy { !$0.contains(key) })
        }
    }
}
