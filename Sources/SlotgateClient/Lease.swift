//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

extension SlotgateClient {
    /// A lease as the local API shows it (socket-api.md, "Objects"). Keys the client does not know are ignored, so
    /// a newer daemon's answers still decode.
    public struct Lease: Sendable, Hashable, Decodable {
        /// A lease's state: `granted`, `bound`, `draining`, `released` or `expired` (an open set: a newer daemon may
        /// send others).
        public struct State: RawRepresentable, Sendable, Hashable, Decodable, CustomStringConvertible {
            /// The state as the API spells it.
            public var rawValue: String
            /// Wraps a state name.
            /// - Parameter rawValue: the state as the API spells it.
            public init(rawValue: String) { self.rawValue = rawValue }
            /// Slot held, no session yet; expires unless bound or renewed.
            public static let granted = State(rawValue: "granted")
            /// A platform session is attached; the slot frees when the platform reports it terminal.
            public static let bound = State(rawValue: "bound")
            /// Released by its holder while the session still runs; the slot stays counted until it ends.
            public static let draining = State(rawValue: "draining")
            /// Ended; the slot is free.
            public static let released = State(rawValue: "released")
            /// An unbound lease that outlived its claim TTL.
            public static let expired = State(rawValue: "expired")

            public init(from decoder: any Decoder) throws {
                rawValue = try decoder.singleValueContainer().decode(String.self)
            }

            /// Whether the lease still holds (or may hold) a slot.
            public var isLive: Bool { self == .granted || self == .bound || self == .draining }

            public var description: String { rawValue }
        }

        /// The lease id, `lse_…`.
        public var id: String
        /// The lease's state.
        public var state: State
        /// Who asked (a free-form name; empty when none was given).
        public var holder: String
        /// The requester's uid, from SO_PEERCRED.
        public var uid: UInt32?
        /// The requester's gid, from SO_PEERCRED.
        public var gid: UInt32?
        /// The requester's pid, from SO_PEERCRED.
        public var pid: Int32?
        /// The priority, -10…10.
        public var priority: Int
        /// The platform session bound to the lease.
        public var sessionID: String?
        /// When the request arrived, ISO-8601.
        public var requestedAt: String?
        /// When the slot was granted, ISO-8601.
        public var grantedAt: String?
        /// When an unbound lease expires unless renewed, ISO-8601 (null once bound).
        public var expiresAt: String?
        /// When the lease ended, ISO-8601.
        public var releasedAt: String?
        /// How long the request waited for its slot, in milliseconds.
        public var waitedMs: Int64?
        /// The host that granted the lease.
        public var host: String?
        /// While the request waits (`GET /v1/leases/{id}`): the estimated seconds until its grant; nil otherwise, or
        /// when the daemon has no history to estimate from.
        public var etaSeconds: Double?

        private enum CodingKeys: String, CodingKey {
            case id, state, holder, uid, gid, pid, priority, host
            case sessionID = "session_id"
            case requestedAt = "requested_at"
            case grantedAt = "granted_at"
            case expiresAt = "expires_at"
            case releasedAt = "released_at"
            case waitedMs = "waited_ms"
            case etaSeconds = "eta_s"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decode(String.self, forKey: .id)
            state = try container.decode(State.self, forKey: .state)
            holder = try container.decodeIfPresent(String.self, forKey: .holder) ?? ""
            uid = try container.decodeIfPresent(UInt32.self, forKey: .uid)
            gid = try container.decodeIfPresent(UInt32.self, forKey: .gid)
            pid = try container.decodeIfPresent(Int32.self, forKey: .pid)
            priority = try container.decodeIfPresent(Int.self, forKey: .priority) ?? 0
            sessionID = try container.decodeIfPresent(String.self, forKey: .sessionID)
            requestedAt = try container.decodeIfPresent(String.self, forKey: .requestedAt)
            grantedAt = try container.decodeIfPresent(String.self, forKey: .grantedAt)
            expiresAt = try container.decodeIfPresent(String.self, forKey: .expiresAt)
            releasedAt = try container.decodeIfPresent(String.self, forKey: .releasedAt)
            waitedMs = try container.decodeIfPresent(Int64.self, forKey: .waitedMs)
            host = try container.decodeIfPresent(String.self, forKey: .host)
            etaSeconds = try container.decodeIfPresent(Double.self, forKey: .etaSeconds)
        }

        /// The claim TTL the lease was granted with (`expires_at − granted_at`), when both are known.
        public var claimTTL: Duration? {
            guard let granted = grantedAt.flatMap(APITime.parse), let expires = expiresAt.flatMap(APITime.parse) else { return nil }
            let seconds = expires.timeIntervalSince(granted)
            return seconds > 0 ? .milliseconds(Int64((seconds * 1000).rounded())) : nil
        }
    }
}
