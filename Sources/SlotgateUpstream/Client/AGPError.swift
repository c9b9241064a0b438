//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateCore

/// The one error the platform client throws.
///
/// It carries what a caller branches on (``kind``, ``status``, ``retryAfter``) and what an operator reads
/// (``message``, ``route``). Its text never contains the API key: every string that goes into it has been
/// passed through the client's redaction first.
public struct AGPError: Error, Sendable, CustomStringConvertible, LocalizedError {
    /// What went wrong, at the level a caller branches on.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case http
            case timeout
            case transport
            case decoding
            case noAnswer
            case invalidRequest
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The platform answered with an HTTP status the call does not accept.
        public static let http = Kind(.http)
        /// No answer came within the request timeout.
        public static let timeout = Kind(.timeout)
        /// The connection failed (refused, reset, TLS, DNS).
        public static let transport = Kind(.transport)
        /// The answer could not be read (not JSON, a required key missing, too many pages).
        public static let decoding = Kind(.decoding)
        /// A create got no answer on its last attempt: whether the session exists is unknown.
        public static let noAnswer = Kind(.noAnswer)
        /// The request could not be built (bad base URL, no API key).
        public static let invalidRequest = Kind(.invalidRequest)

        public var description: String { base.rawValue }
    }

    /// What went wrong.
    public let kind: Kind
    /// The route, as `GET /sessions/{id}/status` (ids are never part of it).
    public let route: String
    /// The HTTP status, when the platform answered.
    public let status: Int?
    /// The platform's message (`detail`, the `msg`s of a validation error, or `message`), or a description of the failure.
    public let message: String?
    /// The delay the platform asked for with `Retry-After`, if any.
    public let retryAfter: Duration?
    /// How many attempts were made.
    public let attempts: Int

    /// Creates an error. The texts must already be redacted.
    /// - Parameters:
    ///   - kind: what went wrong.
    ///   - route: the route.
    ///   - status: the HTTP status, if any.
    ///   - message: the platform's message or a description of the failure.
    ///   - retryAfter: the `Retry-After` delay, if any.
    ///   - attempts: how many attempts were made.
    init(kind: Kind, route: String, status: Int? = nil, message: String? = nil, retryAfter: Duration? = nil, attempts: Int = 1) {
        self.kind = kind
        self.route = route
        self.status = status
        self.message = message.map { String($0.prefix(500)) }
        self.retryAfter = retryAfter
        self.attempts = attempts
    }

    /// Whether trying again later could succeed: a timeout, a transport failure, 408, 429 or a 5xx.
    public var isTransient: Bool {
        switch kind {
        case .timeout, .transport, .noAnswer: return true
        case .http:
            guard let status else { return false }
            return status == 408 || status == 429 || (500...599).contains(status)
        default: return false
        }
    }

    public var description: String {
        var text = "AGP \(route): "
        switch kind {
        case .http: text += "HTTP \(status.map(String.init) ?? "?")"
        case .timeout: text += "timed out"
        case .transport: text += "connection failed"
        case .decoding: text += "unreadable answer"
        case .noAnswer: text += "no answer"
        default: text += "invalid request"
        }
        if let message, !message.isEmpty { text += ": \(message)" }
        if let retryAfter { text += " (retry after \(retryAfter.seconds) s)" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }

    public var errorDescription: String? { description }

    /// A copy with another attempt count.
    func with(attempts: Int) -> AGPError {
        AGPError(kind: kind, route: route, status: status, message: message, retryAfter: retryAfter, attempts: attempts)
    }

    /// A copy with another kind (a create's last timeout becomes ``Kind/noAnswer``).
    func with(kind: Kind) -> AGPError {
        AGPError(kind: kind, route: route, status: status, message: message, retryAfter: retryAfter, attempts: attempts)
    }
}
