//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Why a call to `slotgated` failed: the daemon could not be reached, it answered with an API error, or its answer
/// could not be read.
public struct ClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why the socket could not be used.
    public enum UnreachableReason: Sendable, Hashable, CustomStringConvertible {
        /// No file at the socket path (`ENOENT`): the daemon is not running or the path is wrong.
        case noSuchFile
        /// A file is there but nothing accepts connections (`ECONNREFUSED`): the daemon stopped or crashed.
        case connectionRefused
        /// The socket's mode or group keeps this user out (`EACCES`/`EPERM`).
        case permissionDenied
        /// The path names something that is not a socket (`ENOTSOCK`, `ENOTDIR`).
        case notASocket
        /// The daemon closed the connection before answering (it stopped or crashed mid-request).
        case connectionClosed
        /// Connecting took too long.
        case timedOut
        /// Anything else, with the underlying error's text.
        case other(String)

        public var description: String {
            switch self {
            case .noSuchFile: "no such socket file"
            case .connectionRefused: "connection refused"
            case .permissionDenied: "permission denied"
            case .notASocket: "not a socket"
            case .connectionClosed: "the connection closed before an answer"
            case .timedOut: "the connection timed out"
            case .other(let text): text
            }
        }
    }

    private enum Kind: Sendable, Hashable {
        case unreachable(socket: String, reason: UnreachableReason)
        case api(status: Int, code: String, message: String, retryAfter: Int?)
        case badAnswer(status: Int, detail: String)
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// The daemon could not be reached on its socket.
    /// - Parameters:
    ///   - socket: the socket path that was tried.
    ///   - reason: what went wrong.
    public static func unreachable(socket: String, reason: UnreachableReason) -> ClientError {
        ClientError(.unreachable(socket: socket, reason: reason))
    }

    /// The daemon answered with an error body `{"error": {"code", "message"}}`.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - code: `error.code`, e.g. `wait_timeout`.
    ///   - message: `error.message`.
    ///   - retryAfter: the `Retry-After` header in seconds, if any.
    public static func api(status: Int, code: String, message: String, retryAfter: Int? = nil) -> ClientError {
        ClientError(.api(status: status, code: code, message: message, retryAfter: retryAfter))
    }

    /// The daemon's answer was not what the API promises (not JSON, missing keys).
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - detail: what could not be read.
    public static func badAnswer(status: Int, detail: String) -> ClientError {
        ClientError(.badAnswer(status: status, detail: detail))
    }

    /// The reason, when the daemon could not be reached; nil for answered requests.
    public var unreachableReason: UnreachableReason? {
        if case .unreachable(_, let reason) = kind { return reason }
        return nil
    }

    /// The socket path, when the daemon could not be reached.
    public var socketPath: String? {
        if case .unreachable(let socket, _) = kind { return socket }
        return nil
    }

    /// The HTTP status of an answered request (API errors and unreadable answers).
    public var httpStatus: Int? {
        switch kind {
        case .unreachable: nil
        case .api(let status, _, _, _): status
        case .badAnswer(let status, _): status
        }
    }

    /// `error.code` of an API error (`wait_timeout`, `lease_not_found`, …).
    public var code: String? {
        if case .api(_, let code, _, _) = kind { return code }
        return nil
    }

    /// `error.message` of an API error, or the detail of an unreadable answer.
    public var message: String {
        switch kind {
        case .unreachable(let socket, let reason): "cannot reach slotgated at \(socket): \(reason)"
        case .api(_, _, let message, _): message
        case .badAnswer(_, let detail): detail
        }
    }

    /// `Retry-After` of a 503 answer, in seconds.
    public var retryAfter: Int? {
        if case .api(_, _, _, let retryAfter) = kind { return retryAfter }
        return nil
    }

    /// Whether the daemon could not be reached (as opposed to answering with an error).
    public var isUnreachable: Bool { unreachableReason != nil }

    public var description: String {
        switch kind {
        case .unreachable: message
        case .api(let status, let code, let message, _): "\(code): \(message) (HTTP \(status))"
        case .badAnswer(let status, let detail): "unreadable answer from slotgated (HTTP \(status)): \(detail)"
        }
    }
}
