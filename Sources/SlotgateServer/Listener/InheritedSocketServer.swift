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
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Serves a router on a listening socket the service manager passed in (socket activation), where Hummingbird's
/// `Application` can only bind one itself. Requests go through the same `HTTP1Channel`, responder and
/// connection limit as the `Application` server, so every route, limit and peer credential behaves the same.
public struct InheritedSocketServer<Responder: HTTPResponder>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> & RequestContext {
    /// The listening descriptor; the server owns it and closes it when it stops.
    public let fileDescriptor: CInt
    /// The router's responder.
    public let responder: Responder
    /// The HTTP/1 channel settings (idle timeout).
    public let configuration: HTTP1Channel.Configuration
    /// The `Server` header, or nil for none.
    public let serverName: String?
    /// At most this many connections are served at once; more wait in the listen backlog. Nil for no limit.
    public let maxConnections: Int?
    /// The logger.
    public let logger: Logger
    /// Runs once the socket is adopted and accepting.
    public let onServerRunning: @Sendable () async -> Void

    /// Creates a server.
    /// - Parameters:
    ///   - fileDescriptor: the listening descriptor (3 and up).
    ///   - responder: the router's responder.
    ///   - configuration: the HTTP/1 channel settings.
    ///   - serverName: the `Server` header.
    ///   - maxConnections: the most connections served at once, or nil.
    ///   - logger: the logger.
    ///   - onServerRunning: called once the socket is served.
    public init(
        fileDescriptor: CInt,
        responder: Responder,
        configuration: HTTP1Channel.Configuration,
        serverName: String?,
        maxConnections: Int?,
        logger: Logger,
        onServerRunning: @escaping @Sendable () async -> Void
    ) {
        self.fileDescriptor = fileDescriptor
        self.responder = responder
        self.configuration = configuration
        self.serverName = serverName
        self.maxConnections = maxConnections
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    /// Adopts the socket and serves until graceful shutdown, then waits for open connections to finish.
    public func run() async throws {
        let child = HTTP1Channel(responder: respond, configuration: configuration)
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let logger = self.logger
        let maxConnections = self.maxConnections
        let server = try await ServerBootstrap(group: group)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let maxConnections {
                        try channel.pipeline.syncOperations.addHandler(AvailableConnectionsChannelHandler(maxConnections: maxConnections))
                    }
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .bind(NIOBSDSocket.Handle(fileDescriptor)) { channel in child.setup(channel: channel, logger: logger) }
        logger.info("serving the socket passed by the service manager", metadata: ["fd": "\(fileDescriptor)"])
        await withGracefulShutdownHandler {
            await onServerRunning()
            await withDiscardingTaskGroup { connections in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            connections.addTask { await child.handle(value: connection, logger: logger) }
                        }
                    }
                } catch {
                    logger.error("accepting connections failed", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            quiescing.initiateShutdown(promise: nil)
        }
    }

    /// Answers one request as `Application` does: the responder's answer (it turns `HTTPResponseError`s into
    /// their responses), 500 for any other error, with `Date` and `Server` headers.
    private func respond(to request: Request, writer: consuming ResponseWriter, channel: any Channel) async throws {
        let context = Responder.Context(source: .init(channel: channel, logger: logger))
        var response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch let error as HTTPParserError {
            throw error
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            logger.debug("unrecognised error", metadata: ["error.type": "\(error)"])
            response = Response(status: .internalServerError, body: .init())
        }
        response.headers[.date] = Self.httpDate()
        if let serverName { response.headers[.server] = serverName }
        do {
            try await writer.write(response: response.head, body: response.body)
        } catch is HTTPParserError {
            // Throwing the parser error here would make the channel write a second response.
            throw ParseErrorWhileWritingResponse()
        }
    }

    /// Now as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A request's body failed to parse while its response was being written: the connection is closed instead of
/// answering twice.
private struct ParseErrorWhileWritingResponse: Error {}
