//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

extension SlotgateClient {
    /// One call of the local API: method, path, body and how long to wait for the answer.
    public struct Endpoint: Sendable, Hashable {
        /// The HTTP method (`GET`, `POST`, `DELETE`).
        public var method: String
        /// The path and query, e.g. `/v1/leases/lse_1/renew`.
        public var path: String
        /// The JSON body, if any.
        public var body: Data?
        /// The longest the client waits for the whole answer.
        public var timeout: Duration

        /// Describes a call.
        /// - Parameters:
        ///   - method: the HTTP method.
        ///   - path: the path and query.
        ///   - body: the JSON body.
        ///   - timeout: the longest wait for the answer.
        public init(method: String, path: String, body: Data? = nil, timeout: Duration = .seconds(30)) {
            self.method = method
            self.path = path
            self.body = body
            self.timeout = timeout
        }

        /// `GET /v1/status`.
        public static let status = Endpoint(method: "GET", path: "/v1/status")

        /// `GET /v1/leases`.
        public static let leases = Endpoint(method: "GET", path: "/v1/leases")

        /// `GET /v1/leases?all=1`: also the ended leases still in the daemon's ledger.
        public static let allLeases = Endpoint(method: "GET", path: "/v1/leases?all=1")

        /// `GET /v1/leases/{id}`.
        /// - Parameter id: the lease id.
        public static func lease(_ id: String) -> Endpoint {
            Endpoint(method: "GET", path: "/v1/leases/\(escaped(id))")
        }

        /// `POST /v1/leases`: a long-poll until granted or the wait runs out.
        /// - Parameters:
        ///   - holder: who asks; nil leaves the daemon's default.
        ///   - priority: -10…10; nil is 0.
        ///   - wait: seconds to wait (0 = try once); nil is the daemon's default.
        ///   - ttl: the claim TTL in seconds; nil is the daemon's default.
        ///   - stream: ask for NDJSON position events (`?stream=1`).
        public static func acquire(holder: String?, priority: Int?, wait: Double?, ttl: Double?, stream: Bool = false) -> Endpoint {
            let request = AcquireBody(holder: holder, priority: priority, waitS: wait, claimTTLS: ttl)
            let body = (try? JSONEncoder().encode(request)) ?? Data("{}".utf8)
            // The daemon answers by the end of the wait; a slack covers a slow answer. Without a wait the daemon's
            // default applies, which may be long.
            let seconds = wait.map { $0 + 30 } ?? 86_400 + 30
            return Endpoint(
                method: "POST",
                path: stream ? "/v1/leases?stream=1" : "/v1/leases",
                body: body,
                timeout: .milliseconds(Int64(min(seconds, 86_430) * 1000))
            )
        }

        /// `POST /v1/leases/{id}/session`.
        /// - Parameters:
        ///   - id: the lease id.
        ///   - session: the platform session id.
        public static func bind(_ id: String, session: String) -> Endpoint {
            let body = (try? JSONEncoder().encode(["session_id": session])) ?? Data()
            return Endpoint(method: "POST", path: "/v1/leases/\(escaped(id))/session", body: body)
        }

        /// `POST /v1/leases/{id}/renew`.
        /// - Parameter id: the lease id.
        public static func renew(_ id: String) -> Endpoint {
            Endpoint(method: "POST", path: "/v1/leases/\(escaped(id))/renew", body: Data("{}".utf8))
        }

        /// `DELETE /v1/leases/{id}`, with `?cancel_session=1` when asked.
        /// - Parameters:
        ///   - id: the lease id.
        ///   - cancelSession: also ask the platform to cancel the bound session.
        public static func release(_ id: String, cancelSession: Bool = false) -> Endpoint {
            Endpoint(method: "DELETE", path: "/v1/leases/\(escaped(id))" + (cancelSession ? "?cancel_session=1" : ""))
        }

        /// A path segment with everything but unreserved characters percent-encoded.
        static func escaped(_ segment: String) -> String {
            let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            return segment.addingPercentEncoding(withAllowedCharacters: allowed) ?? segment
        }

        private struct AcquireBody: Encodable {
            var holder: String?
            var priority: Int?
            var waitS: Double?
            var claimTTLS: Double?

            enum CodingKeys: String, CodingKey {
                case holder, priority
                case waitS = "wait_s"
                case claimTTLS = "claim_ttl_s"
            }
        }
    }
}
