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
import NIOExtras
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle

/// The local API's server: SwiftNIO channel handlers in front of the Hummingbird router.
///
/// Hummingbird's own server keeps a task per connection for the connection's whole life (its frames, the
/// connection's async streams): about 13 KiB for a connection that only waits, and more once a request went deep.
/// A daemon with 10,000 long-polls parked keeps 10,000 connections. Here a connection is only its channel and its
/// handlers ( ``APIConnectionHandler``): a request to take a slot is parked in the gatekeeper with a callback and
/// answered from the event loop, and every other request runs the router in a task that ends with its answer.
/// Routes, middleware and errors are the router's, as under `Application`.
struct APIHTTPServer: Service {
    /// Where the server listens.
    enum Address {
        /// Binds this path, replacing a stale socket file (the caller checked that no other daemon answers there).
        case path(String)
        /// Serves a listening descriptor the service manager passed in (socket activation); owned from now on.
        case inherited(CInt)
    }

    let address: Address
    let answering: APIAnswering
    let maxConnections: Int
    let logger: Logger
    let onServerRunning: @Sendable () async -> Void

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let maxConnections = self.maxConnections
        let answering = self.answering
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AvailableConnectionsChannelHandler(maxConnections: maxConnections))
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try Self.configure(channel, answering: answering, logger: logger) }
            }
        let server: any Channel
        switch address {
        case .path(let path): server = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        case .inherited(let descriptor): server = try await bootstrap.withBoundSocket(descriptor: descriptor).get()
        }
        let stopped = group.any().makePromise(of: Void.self)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await onServerRunning()
                // Ends when the listening socket closes and every connection has closed after its answer.
                try? await stopped.futureResult.get()
            } onGracefulShutdown: {
                quiescing.initiateShutdown(promise: stopped)
            }
        } onCancel: {
            server.close(promise: nil)
            stopped.succeed()
        }
    }

    /// A connection's pipeline: HTTP/1 framing with NIO's limits, the HTTP types, the daemon's own handlers, the
    /// idle and quiesce handling of Hummingbird, then the answering handler.
    static func configure(_ channel: any Channel, answering: APIAnswering, logger: Logger) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 80 * 1024
        limits.maxHeaderListSize = 80 * 1024
        limits.maxHeaderFieldCount = 1000
        let operations = channel.pipeline.syncOperations
        try operations.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withErrorHandling: false,
            withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: limits
        )
        try operations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try operations.addHandlers([ReceiveBufferSize(), PeerCredentialsRecorder(), CloseAfterResponseHandler(), HangUpWatcher()])
        try operations.addHandler(HTTPConnectionStateHandler(idleTimeout: APILimits.headerTimeout, logger: logger))
        try operations.addHandler(APIConnectionHandler(answering: answering))
    }
}
