//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Gives the answer to a request NIO's HTTP/1 parser rejects (a NUL or a space in the request line, an unknown
/// method, headers past the decoder's limits, a malformed `Content-Length`) the documented error body
/// (socket-api.md "Errors"): `400 bad_request` with `{"error": {...}}`, then the connection closes.
///
/// Such a request never reaches a route: the parser's error ends Hummingbird's read loop (`handleHTTP`), which
/// answers it itself with a bare `400` (`Content-Length: 0`, `Connection: close`) and no body. That answer is the
/// only one written for the failed request, and it comes after the answers to any requests read before the
/// failure, so this handler rewrites exactly that answer rather than writing one of its own: the number and the
/// order of the answers on the connection stay Hummingbird's. A failure inside a body a route is reading is
/// answered by the route instead (`readBody` turns it into `bad_request`), and Hummingbird then writes nothing
/// more, so nothing is rewritten.
///
/// It sits among Hummingbird's additional channel handlers, after the HTTP/1-to-HTTP-types codec and before
/// ``CloseAfterResponseHandler``, which closes the connection after the rewritten answer's `Connection: close`.
final class ParseErrorAnswerHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// No parse error yet: every part passes unchanged.
        case reading
        /// The parser failed; Hummingbird's bare 400 for it is still to be written.
        case failed(APIError)
        /// The bare 400's head went out as the documented one; this body goes before its end.
        case rewriting(ByteBuffer)
        /// The rewritten answer is written: every part passes unchanged.
        case answered
    }

    private var state = State.reading

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case .reading = state, let error = error as? HTTPParserError {
            state = .failed(APIError.badRequest(Self.message(for: error)))
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let part = unwrapOutboundIn(data)
        switch (state, part) {
        case (.failed(let error), .head(let head)) where Self.isBareParseErrorAnswer(head):
            let body = error.body
            let documented = HTTPResponse(
                status: error.status,
                headerFields: [.contentType: "application/json", .contentLength: "\(body.readableBytes)", .connection: "close"]
            )
            state = .rewriting(body)
            context.write(wrapOutboundOut(.head(documented)), promise: promise)
        case (.rewriting(let body), .end):
            state = .answered
            context.write(wrapOutboundOut(.body(body)), promise: nil)
            context.write(data, promise: promise)
        default:
            context.write(data, promise: promise)
        }
    }

    /// Hummingbird's answer to a parse error: a 400 with an empty body and `Connection: close`. No route answers
    /// so (every error of the API has a JSON body), so after a parse error this can only be that answer.
    private static func isBareParseErrorAnswer(_ head: HTTPResponse) -> Bool {
        head.status == .badRequest && head.headerFields[.contentLength] == "0" && head.headerFields[.contentType] == nil
    }

    /// One sentence naming what the parser found wrong.
    static func message(for error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow:
            "The request's headers are over the limit (80 KiB in all, 1000 fields)."
        case .invalidMethod:
            "The request method is not one HTTP/1.1 knows."
        case .invalidURL:
            "The request target is not a valid URL path."
        case .invalidVersion:
            "The request line does not end with a valid HTTP version."
        case .invalidCharactersUsed, .invalidHeaderToken, .invalidConstant, .lfExpected, .strictModeAssertion:
            "The request line or a header contains characters HTTP/1.1 does not allow."
        case .invalidContentLength, .unexpectedContentLength:
            "The Content-Length header is not a single valid length, or contradicts Transfer-Encoding."
        case .invalidChunkSize:
            "A chunk of the request body has a malformed size."
        case .invalidEOFState, .closedConnection:
            "The connection was closed in the middle of the request."
        default:
            "The request is not valid HTTP/1.1."
        }
    }
}
