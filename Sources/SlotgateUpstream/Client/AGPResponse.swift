//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1

/// A complete answer from the platform, as received (for pass-through and for callers that need the raw bytes).
public struct AGPResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The answer's headers.
    public var headers: HTTPHeaders
    /// The whole body.
    public var body: ByteBuffer

    /// Creates a response.
    /// - Parameters:
    ///   - status: the HTTP status code.
    ///   - headers: the headers.
    ///   - body: the body.
    public init(status: Int, headers: HTTPHeaders, body: ByteBuffer) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
