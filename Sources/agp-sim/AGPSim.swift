//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// `agp-sim`: runs the simulated agent platform until SIGTERM or SIGINT.
///
/// Prints exactly one line to stdout once it accepts connections:
/// `agp-sim listening on http://127.0.0.1:PORT/api/v2`.
@main
struct AGPSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agp-sim",
        abstract: "A faithful fake of the H agent platform API, for tests, demos and benchmarks."
    )

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one.")
    var port: Int = 0

    @Option(help: "Concurrent session limit.")
    var limit: Int = 3

    @Flag(help: "At the limit, accept creates whose `queue` is absent or true as `queued` instead of answering 429.")
    var queueAtLimit = false

    @Flag(help: "Count `queued` sessions in `active` and against the limit.")
    var queuedCountsAsActive = false

    @Option(help: "Quota scope: org or user.")
    var scope: String = "org"

    @Option(help: "Milliseconds a session stays pending.")
    var pendingMs: Int = 100

    @Option(help: "Run length in milliseconds: MIN-MAX, a single value, or 'none' to run until finished via /_sim.")
    var runMs: String = "300-600"

    @Option(help: "Milliseconds before a new session shows in `active` and the list.")
    var lagMs: Int = 0

    @Option(name: .customLong("end-status"), help: "Terminal status a run may end in (repeatable; default completed).")
    var endStatuses: [String] = []

    @Option(name: .customLong("api-key"), help: "Accepted Bearer key (repeatable; default hk-sim-key).")
    var apiKeys: [String] = []

    @Flag(help: "Accept requests without a key.")
    var noAuth = false

    @Flag(help: "Reject unknown top-level create fields with 422.")
    var strictBodies = false

    @Option(help: "Seed of the random generator.")
    var seed: UInt64 = 1

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func validate() throws {
        guard (0...65535).contains(self.port) else { throw ValidationError("--port must be 0...65535") }
        guard self.limit >= 0 else { throw ValidationError("--limit must be >= 0") }
        guard self.scope == "org" || self.scope == "user" else { throw ValidationError("--scope must be org or user") }
        guard self.pendingMs >= 0, self.lagMs >= 0 else { throw ValidationError("durations must be >= 0") }
        _ = try Self.runRange(self.runMs)
        guard Logger.Level(rawValue: self.logLevel) != nil else { throw ValidationError("unknown --log-level") }
    }

    func run() async throws {
        var configuration = SimulatorConfiguration()
        configuration.limit = self.limit
        configuration.scope = self.scope
        configuration.queueAtLimit = self.queueAtLimit
        configuration.queuedCountsAsActive = self.queuedCountsAsActive
        configuration.pendingDuration = .milliseconds(self.pendingMs)
        configuration.runDuration = try Self.runRange(self.runMs)
        configuration.activeLag = .milliseconds(self.lagMs)
        configuration.strictBodies = self.strictBodies
        configuration.seed = self.seed
        if !self.endStatuses.isEmpty { configuration.endStatuses = self.endStatuses }
        if self.noAuth {
            configuration.apiKeys = []
        } else if !self.apiKeys.isEmpty {
            configuration.apiKeys = Set(self.apiKeys)
        }

        var logger = Logger(label: "agp-sim")
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .warning
        let platform = SimulatedPlatform(configuration: configuration)
        let host = self.host
        let server = SimulatorServer.application(platform, host: host, port: self.port, logger: logger) { port in
            // One line, written unbuffered, so a parent process can read the address as soon as it is bound.
            FileHandle.standardOutput.write(Data("agp-sim listening on http://\(host):\(port)/api/v2\n".utf8))
        }
        let group = ServiceGroup(
            configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }

    /// Parses `MIN-MAX`, `N` or `none` (milliseconds).
    static func runRange(_ text: String) throws -> ClosedRange<Duration>? {
        if text.lowercased() == "none" { return nil }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(parts.count), let low = parts.first ?? nil, let high = parts.last ?? nil, low >= 0, low <= high else {
            throw ValidationError("--run-ms must be MIN-MAX, N or none")
        }
        return .milliseconds(low)...(.milliseconds(high))
    }
}
