//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import NIOCore

extension Request {
    /// Reads the whole body, answering in the documented shape when it cannot be read: 413 `body_too_large` once
    /// the received bytes pass `limit` (a chunked body declares no length), 400 `bad_request` for a body that
    /// ends early or whose chunks are malformed.
    /// - Parameter limit: the largest body accepted.
    mutating func readBody(upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: limit)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("The request body could not be read: it ended early or its chunks are malformed.")
        }
    }
}
