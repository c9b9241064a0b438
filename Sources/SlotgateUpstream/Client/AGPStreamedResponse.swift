//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// A forwarded answer whose head has arrived and whose body is read as the platform sends it (for the proxy's
/// pass-through: session resources and event streams of any size, without holding them whole).
///
/// Dropping the body, or cancelling the task that reads it, ends the request to the platform.
public struct AGPStreamedResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The answer's headers.
    public var headers: HTTPHeaders
    /// The body, part by part.
    public var body: Body

    /// The body of a streamed answer: parts as they arrive.
    public struct Body: AsyncSequence, Sendable {
        public typealias Element = ByteBuffer

        let base: HTTPClientResponse.Body

        /// Creates an iterator over the parts.
        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(base: base.makeAsyncIterator())
        }

        /// Reads the parts.
        public struct AsyncIterator: AsyncIteratorProtocol {
            var base: HTTPClientResponse.Body.AsyncIterator

            /// The next part, or nil at the end of the body.
            public mutating func next() async throws -> ByteBuffer? {
                try await base.next()
            }
        }
    }
}
