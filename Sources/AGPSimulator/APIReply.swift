//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An HTTP answer of the simulated platform, without any HTTP library type, so the model stays pure.
struct APIReply: Sendable, Equatable {
    /// The status code.
    var status: Int
    /// The JSON body; nil for an empty body.
    var body: JSONValue?
    /// Extra response headers.
    var headers: [String: String] = [:]

    static func json(_ status: Int, _ body: JSONValue) -> APIReply {
        APIReply(status: status, body: body)
    }

    static func empty(_ status: Int, headers: [String: String] = [:]) -> APIReply {
        APIReply(status: status, body: nil, headers: headers)
    }

    /// The backend's error shape, `{"detail": "..."}`.
    static func detail(_ status: Int, _ text: String, headers: [String: String] = [:]) -> APIReply {
        APIReply(status: status, body: .object(["detail": .string(text)]), headers: headers)
    }

    /// The gateway's error shape, `{"message": "..."}`.
    static func message(_ status: Int, _ text: String) -> APIReply {
        APIReply(status: status, body: .object(["message": .string(text)]))
    }

    /// FastAPI's 422 shape: `{"detail": [{"type", "loc", "msg", "input"}]}`.
    static func invalid(type: String, loc: [JSONValue], msg: String, input: JSONValue = .null) -> APIReply {
        let item: JSONValue = .object(["type": .string(type), "loc": .array(loc), "msg": .string(msg), "input": input])
        return APIReply(status: 422, body: .object(["detail": .array([item])]))
    }

    /// A query parameter failed validation.
    static func invalidQuery(_ name: String, msg: String, input: String, type: String = "value_error") -> APIReply {
        .invalid(type: type, loc: [.string("query"), .string(name)], msg: msg, input: .string(input))
    }

    static let sessionNotFound = APIReply.detail(404, "Session not found")
    static let unauthorized = APIReply.message(401, "Unauthorized")
}
