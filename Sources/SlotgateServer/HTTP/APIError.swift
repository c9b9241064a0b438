//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SlotgateCore

/// An error answer of the local API: `{"error": {"code", "message"}}` with its status, and `Retry-After` on 503
/// (socket-api.md "Errors"). Every status the API answers with is chosen here.
public struct APIError: Error, HTTPResponseError, Sendable {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// The snake_case code.
    public let code: String
    /// One human sentence.
    public let message: String
    /// Extra headers (e.g. `Connection: close` after a body that was too large).
    public var extraHeaders: HTTPFields = [:]

    /// Creates an error answer.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - code: the snake_case code.
    ///   - message: one human sentence.
    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The answer for a core error.
    /// - Parameter error: the core's error.
    public init(_ error: GatekeeperError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case "lease_not_found": .notFound
            case "lease_conflict": .conflict
            case "bad_request": .badRequest
            default: .serviceUnavailable
            }
        self.init(status, error.code, error.message)
    }

    /// 400 `bad_request`; the message names the field.
    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    /// 403 `forbidden`: the peer may not act on another uid's lease; the message names the owner.
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    /// 403 `route_not_allowed`: the proxy does not forward this platform route; the message names the key.
    public static func routeNotAllowed(_ method: HTTPRequest.Method, _ path: String) -> APIError {
        APIError(
            .forbidden,
            "route_not_allowed",
            "\(method.rawValue) \(path) is not forwarded: it matches no entry of proxy.allow; an operator may add one to the daemon's config."
        )
    }
    /// 404 `not_found` for an unknown path.
    public static func notFound(_ path: String) -> APIError {
        APIError(.notFound, "not_found", "No endpoint answers at \(path).")
    }
    /// 405 `method_not_allowed`.
    public static func methodNotAllowed(_ method: HTTPRequest.Method, _ path: String) -> APIError {
        APIError(.methodNotAllowed, "method_not_allowed", "\(method.rawValue) is not allowed on \(path).")
    }
    /// 413 `body_too_large`; the connection closes after it.
    public static func bodyTooLarge(limit: Int) -> APIError {
        var error = APIError(.contentTooLarge, "body_too_large", "The request body is over the limit of \(limit) bytes.")
        error.extraHeaders[.connection] = "close"
        return error
    }
    /// 503 `too_many_connections`: the peer's uid has `socket.max_connections_per_uid` connections open already;
    /// the connection closes after it.
    public static func tooManyConnections(uid: UInt32, limit: Int) -> APIError {
        var error = APIError(
            .serviceUnavailable,
            "too_many_connections",
            "uid \(uid) has \(limit) connections open to slotgated already (socket.max_connections_per_uid); close one and retry."
        )
        error.extraHeaders[.connection] = "close"
        return error
    }
    /// 502 `upstream_error` (proxy only).
    public static func upstreamError(_ message: String) -> APIError { APIError(.badGateway, "upstream_error", message) }

    /// The JSON body.
    public var body: ByteBuffer {
        let payload = ["error": ["code": code, "message": message]]
        let data = (try? JSONEncoder().encode(payload)) ?? Data(#"{"error":{"code":"internal","message":"?"}}"#.utf8)
        var buffer = ByteBuffer(bytes: data)
        buffer.writeString("\n")
        return buffer
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        answerResponse
    }

    /// The answer as a response.
    var answerResponse: Response { Response(answer: answer) }

    /// The answer's head (without its length) and JSON body.
    var answer: (head: HTTPResponse, body: ByteBuffer) {
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .serviceUnavailable { headers[.retryAfter] = "1" }
        for field in extraHeaders { headers.append(field) }
        return (HTTPResponse(status: status, headerFields: headers), body)
    }
}

extension Response {
    /// A whole answer (head and body, as the connection handler writes them) as the router's response.
    /// - Parameter answer: the head and its body.
    init(answer: (head: HTTPResponse, body: ByteBuffer)) {
        self.init(status: answer.head.status, headers: answer.head.headerFields, body: .init(byteBuffer: answer.body))
    }
}
