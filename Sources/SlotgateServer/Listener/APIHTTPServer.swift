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
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

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
    let limits: ConnectionLimits
    let logger: Logger
    let onServerRunning: @Sendable () async -> Void

    func run() async throws {
        let listener: UnixListener
        // The socket file this server made, removed when it stops (one systemd passed in is systemd's to keep).
        var made: (path: String, identity: UnixSocketFile.Identity?)?
        switch address {
        case .path(let path):
            listener = try UnixListener(path: path, limits: limits, logger: logger)
            made = (path, UnixSocketFile.identity(of: path))
        case .inherited(let descriptor): listener = UnixListener(descriptor: descriptor, limits: limits, logger: logger)
        }
        defer { if let made { UnixSocketFile.remove(made.path, ifStill: made.identity, logger: logger) } }
        let open = OpenChannels()
        let answering = self.answering
        let logger = self.logger
        // The socket listens already (bound here, or passed by systemd): connections wait in its backlog. Readiness
        // is marked before the first one is accepted, so no answer says `ready: false` once the daemon is up
        // (socket activation's first connect came before READY and was once answered not ready).
        await onServerRunning()
        listener.start { descriptor, ticket in
            ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.configure(channel, answering: answering, descriptor: descriptor, ticket: ticket, logger: logger)
                    }
                }
                .withConnectedSocket(descriptor)
                .whenComplete { result in
                    switch result {
                    case .success(let channel): open.add(channel)
                    case .failure(let error):
                        logger.debug("a connection could not be set up", metadata: ["error": "\(error)"])
                        ticket.release()
                    }
                }
        }
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled: stop at once.
            listener.stop()
            open.closeAll()
            return
        }
        // Stop accepting; idle connections close now, busy ones after their answer; parked requests were answered
        // `shutting_down` by the gatekeeper, which shuts down first.
        listener.stop()
        open.quiesceAll()
        await withTaskCancellationHandler {
            await listener.drained()
        } onCancel: {
            open.closeAll()
            listener.stopWaitingForDrain()
        }
    }

    /// A connection's pipeline: HTTP/1 framing with NIO's limits, the HTTP types, the daemon's own handlers, the
    /// idle and quiesce handling of Hummingbird, then the answering handler.
    static func configure(
        _ channel: any Channel,
        answering: APIAnswering,
        descriptor: CInt,
        ticket: ConnectionTicket,
        logger: Logger
    ) throws {
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
        try operations.addHandler(ConnectionCloseMarker())
        try operations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try operations.addHandlers([ReceiveBufferSize(), PeerCredentialsRecorder(), HangUpWatcher()])
        try operations.addHandler(HTTPConnectionStateHandler(idleTimeout: APILimits.headerTimeout, logger: logger))
        try operations.addHandler(APIConnectionHandler(answering: answering, descriptor: descriptor, ticket: ticket))
    }
}

/// The connections served in SwiftNIO, for a graceful shutdown.
final class OpenChannels: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in
            _ = channels.withLock { $0.removeValue(forKey: key) }
        }
    }

    /// Asks every connection to close once it has answered its request (Hummingbird's connection handler closes
    /// an idle one at once).
    func quiesceAll() {
        for channel in channels.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }
}
