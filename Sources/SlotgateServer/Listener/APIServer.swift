//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import SlotgateCore

/// Where the local API listens and who may connect.
public struct APIListenerOptions: Sendable {
    /// The socket path.
    public var socketPath: String
    /// The socket file's mode (`socket.mode`).
    public var socketMode: UInt32
    /// The socket file's group id (`socket.group`), or nil for the daemon's own group.
    public var socketGroup: UInt32?
    /// At most this many connections are served at once; more wait to be accepted.
    public var maxConnections: Int
    /// At most this many of them per peer uid (`socket.max_connections_per_uid`); more are answered
    /// `503 too_many_connections`.
    public var maxConnectionsPerUID: Int
    /// A listening socket passed by the service manager (socket activation): served instead of binding
    /// `socketPath`, whose file mode and group are then left as systemd set them. Nil binds `socketPath`.
    public var inheritedFileDescriptor: CInt?

    /// Creates options.
    /// - Parameters:
    ///   - socketPath: the socket path.
    ///   - socketMode: the socket file's mode.
    ///   - socketGroup: the socket file's group id, or nil.
    ///   - maxConnections: the most connections served at once.
    ///   - maxConnectionsPerUID: the most connections of one uid served at once.
    ///   - inheritedFileDescriptor: a listening socket passed by the service manager, or nil to bind.
    public init(
        socketPath: String,
        socketMode: UInt32 = 0o660,
        socketGroup: UInt32? = nil,
        maxConnections: Int = 16_384,
        maxConnectionsPerUID: Int = 4_096,
        inheritedFileDescriptor: CInt? = nil
    ) {
        self.socketPath = socketPath
        self.socketMode = socketMode
        self.socketGroup = socketGroup
        self.maxConnections = maxConnections
        self.maxConnectionsPerUID = maxConnectionsPerUID
        self.inheritedFileDescriptor = inheritedFileDescriptor
    }
}

/// Builds the server of the local API (``APIHTTPServer``) on its Unix socket, bound here, or, when the service
/// manager passed a listening socket, on that one, with the same router and limits. It is a
/// `Service`: run it in the daemon's group. `onListening` runs once the socket accepts connections and (when bound
/// here) has its mode and group.
/// - Parameters:
///   - api: what the routes need.
///   - options: where to listen and who may connect.
///   - onListening: called when the socket is ready.
/// - Throws: `UnixSocketFile.Problem` when another daemon answers on the path.
public func makeAPIServer(
    _ api: APIContext,
    options: APIListenerOptions,
    onListening: @escaping @Sendable () async -> Void = {}
) throws -> any Service {
    let logger = api.logger
    let answering = APIAnswering(api: api)
    let limits = ConnectionLimits(total: options.maxConnections, perUID: options.maxConnectionsPerUID)
    if let descriptor = options.inheritedFileDescriptor {
        return APIHTTPServer(address: .inherited(descriptor), answering: answering, limits: limits, logger: logger) {
            logger.info("listening", metadata: ["socket": "\(options.socketPath)", "fd": "\(descriptor)"])
            await onListening()
        }
    }
    try UnixSocketFile.prepare(options.socketPath)
    return APIHTTPServer(address: .path(options.socketPath), answering: answering, limits: limits, logger: logger) {
        do {
            try UnixSocketFile.setAccess(options.socketPath, mode: options.socketMode, group: options.socketGroup)
        } catch {
            logger.error("\(String(describing: error))")
        }
        logger.info("listening", metadata: ["socket": "\(options.socketPath)"])
        await onListening()
    }
}

/// Builds the optional TCP listener for `/metrics` and `/healthz` (`metrics.listen`). Nothing else is served there.
/// - Parameters:
///   - api: what the routes need.
///   - host: the address or host name to bind.
///   - port: the port.
public func makeMetricsServer(_ api: APIContext, host: String, port: Int) -> some Service {
    Application(
        router: buildMetricsRouter(api),
        server: .http1(configuration: .init(additionalChannelHandlers: [CloseAfterResponseHandler(), ParseErrorAnswerHandler()])),
        configuration: .init(address: .hostname(host, port: port), serverName: "slotgate"),
        logger: api.logger
    )
}
