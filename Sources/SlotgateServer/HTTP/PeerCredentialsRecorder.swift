//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTPTypes
import Synchronization

/// Reads a connection's peer credentials (SO_PEERCRED) once, on its event loop, as the connection opens, and keeps
/// them until it closes, so that ``PeerCredentials/read(from:)`` in a route finds them without going through the
/// event loop: that hop cost two thread switches on every `POST /v1/leases`.
///
/// NIO gives a route no per-connection storage, so the credentials are kept in one table keyed by the channel's
/// identity. An entry is removed when its channel goes inactive or leaves the pipeline, before the channel can be
/// freed and its address reused by another.
final class PeerCredentialsRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private static let table = Mutex<[ObjectIdentifier: PeerCredentials]>([:])

    /// The credentials recorded for `channel`, or nil.
    /// - Parameter channel: a connection.
    static func credentials(of channel: any Channel) -> PeerCredentials? {
        let key = ObjectIdentifier(channel)
        return table.withLock { $0[key] }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { record(context.channel) }
    }

    func channelActive(context: ChannelHandlerContext) {
        record(context.channel)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        forget(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        forget(context.channel)
    }

    private func record(_ channel: any Channel) {
        guard let credentials = PeerCredentials.readOnEventLoop(channel) else { return }
        let key = ObjectIdentifier(channel)
        Self.table.withLock { $0[key] = credentials }
    }

    private func forget(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        Self.table.withLock { _ = $0.removeValue(forKey: key) }
    }
}
