//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTPTypes

/// Starts a connection's reads with 512-byte buffers instead of NIO's 2 KiB, then takes itself out of the pipeline.
///
/// A connection keeps its last receive buffer while the request read from it is answered, and a waiting request can
/// take minutes: 10,000 parked waiters held 20 MiB of receive buffers for requests of 100 to 300 bytes. NIO's
/// adaptive allocator still grows the buffers for a connection that sends more (a proxied create with a large body).
final class ReceiveBufferSize: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    /// The first read's buffer size.
    static let initial = 512

    func handlerAdded(context: ChannelHandlerContext) {
        let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: Self.initial, maximum: 65_536)
        try? context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: allocator)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
