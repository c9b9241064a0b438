//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Serves a ``SimulatedPlatform`` over HTTP.
///
/// ```swift
/// let platform = SimulatedPlatform(configuration: .init())
/// let stats = try await SimulatorServer.withRunning(platform) { baseURL in
///     // baseURL is "http://127.0.0.1:PORT/api/v2"
///     await platform.stats()
/// }
/// ```
public enum SimulatorServer {
    /// Runs the simulator on host:port (port 0 = any) for the duration of `body`, then shuts it down.
    /// `baseURL` is "http://127.0.0.1:PORT/api/v2".
    /// - Parameters:
    ///   - platform: the platform to serve.
    ///   - host: the address to bind.
    ///   - port: the port to bind; 0 picks a free one.
    ///   - body: runs while the server accepts connections; receives the API base URL.
    /// - Returns: what `body` returns.
    public static func withRunning<T: Sendable>(
        _ platform: SimulatedPlatform,
        host: String = "127.0.0.1",
        port: Int = 0,
        _ body: @Sendable (_ baseURL: String) async throws -> T
    ) async throws -> T {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = self.application(platform, host: host, port: port) { continuation.yield($0) }
        let group = ServiceGroup(services: [app], logger: self.quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { continuation.finish() }
                try await group.run()
            }
            var iterator = ports.makeAsyncIterator()
            guard let boundPort = await iterator.next() else {
                try await tasks.waitForAll()
                throw SimulatorServerError(message: "the simulator stopped before it listened")
            }
            let result: T
            do {
                result = try await body("http://\(host):\(boundPort)/api/v2")
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }

    /// A ServiceLifecycle Service serving the simulator; `onListening` gets the bound port.
    /// - Parameters:
    ///   - platform: the platform to serve.
    ///   - host: the address to bind.
    ///   - port: the port to bind; 0 picks a free one.
    ///   - onListening: called once the server accepts connections, with the bound port.
    /// - Returns: a service to run in a `ServiceGroup`.
    public static func service(
        _ platform: SimulatedPlatform,
        host: String,
        port: Int,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some Service {
        self.application(platform, host: host, port: port, onListening: onListening)
    }

    /// The router with every API and control route, for `.router` tests.
    /// - Parameter platform: the platform to serve.
    /// - Returns: a router for a Hummingbird `Application`.
    public static func makeRouter(_ platform: SimulatedPlatform) -> Router<BasicRequestContext> {
        let router = Router()
        SimulatorRoutes(platform: platform).register(on: router)
        return router
    }

    /// The Hummingbird application serving `platform`.
    /// - Parameters:
    ///   - platform: the platform to serve.
    ///   - host: the address to bind.
    ///   - port: the port to bind; 0 picks a free one.
    ///   - logger: the server's logger; by default one that only reports warnings.
    ///   - onListening: called once the server accepts connections, with the bound port.
    /// - Returns: the application, itself a `Service`.
    public static func application(
        _ platform: SimulatedPlatform,
        host: String,
        port: Int,
        logger: Logger? = nil,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        Application(
            router: self.makeRouter(platform),
            configuration: .init(address: .hostname(host, port: port), serverName: "agp-sim"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger ?? self.quietLogger
        )
    }

    private static var quietLogger: Logger {
        var logger = Logger(label: "agp-sim")
        logger.logLevel = .warning
        return logger
    }
}

/// The simulator server could not start.
public struct SimulatorServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String

    /// A readable description.
    public var description: String { "agp-sim: \(self.message)" }
}
