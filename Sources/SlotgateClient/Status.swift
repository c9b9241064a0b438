//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SlotgateClient {
    /// `GET /v1/status` (socket-api.md). Unknown keys are ignored and most keys are optional, so answers of older
    /// and newer daemons decode.
    public struct Status: Sendable, Hashable, Decodable {
        /// The platform as the daemon last read it.
        public struct Upstream: Sendable, Hashable, Decodable {
            /// Whether the last reading succeeded and is fresh.
            public var healthy: Bool
            /// `org` or `user`; nil before the first good reading.
            public var scope: String?
            /// The platform's limit.
            public var limit: Int?
            /// Sessions the platform counts as active.
            public var active: Int?
            /// `max(0, limit − active)`.
            public var available: Int?
            /// Age of the quota reading, in milliseconds.
            public var ageMs: Int64?
            /// The last upstream error, if any.
            public var lastError: String?
            /// The platform's base URL (or the built-in simulator's); nil from older daemons.
            public var url: String?
            /// Whether the upstream is the built-in simulator: sessions are not real.
            public var simulated: Bool

            private enum CodingKeys: String, CodingKey {
                case healthy, scope, limit, active, available, url, simulated
                case ageMs = "age_ms"
                case lastError = "last_error"
            }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                healthy = try container.decodeIfPresent(Bool.self, forKey: .healthy) ?? false
                scope = try container.decodeIfPresent(String.self, forKey: .scope)
                limit = try container.decodeIfPresent(Int.self, forKey: .limit)
                active = try container.decodeIfPresent(Int.self, forKey: .active)
                available = try container.decodeIfPresent(Int.self, forKey: .available)
                ageMs = try container.decodeIfPresent(Int64.self, forKey: .ageMs)
                lastError = try container.decodeIfPresent(String.self, forKey: .lastError)
                url = try container.decodeIfPresent(String.self, forKey: .url)
                simulated = try container.decodeIfPresent(Bool.self, forKey: .simulated) ?? false
            }
        }

        /// The last reload and the keys that wait for a restart.
        public struct Reload: Sendable, Hashable, Decodable {
            /// When the last reload happened, ISO-8601; nil when there was none.
            public var at: String?
            /// Whether it was taken.
            public var accepted: Bool?
            /// Why it was refused.
            public var reason: String?
            /// Changed keys whose new value waits for a restart.
            public var pendingRestart: [String]

            private enum CodingKeys: String, CodingKey {
                case at, accepted, reason
                case pendingRestart = "pending_restart"
            }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                at = try container.decodeIfPresent(String.self, forKey: .at)
                accepted = try container.decodeIfPresent(Bool.self, forKey: .accepted)
                reason = try container.decodeIfPresent(String.self, forKey: .reason)
                pendingRestart = try container.decodeIfPresent([String].self, forKey: .pendingRestart) ?? []
            }
        }

        /// The platform's token allowance; absent until the token endpoint was read.
        public struct Tokens: Sendable, Hashable, Decodable {
            /// Tokens allowed in the window.
            public var limit: Int64?
            /// Tokens used in the window.
            public var used: Int64?
            /// Tokens left.
            public var remaining: Int64?
            /// When the window resets, ISO-8601.
            public var windowEnd: String?
            /// Age of the reading, in milliseconds.
            public var ageMs: Int64?

            private enum CodingKeys: String, CodingKey {
                case limit, used, remaining
                case windowEnd = "window_end"
                case ageMs = "age_ms"
            }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                limit = try container.decodeIfPresent(Int64.self, forKey: .limit)
                used = try container.decodeIfPresent(Int64.self, forKey: .used)
                remaining = try container.decodeIfPresent(Int64.self, forKey: .remaining)
                windowEnd = try container.decodeIfPresent(String.self, forKey: .windowEnd)
                ageMs = try container.decodeIfPresent(Int64.self, forKey: .ageMs)
            }
        }

        /// The slot accounting.
        public struct Slots: Sendable, Hashable, Decodable {
            /// The limit in force.
            public var limit: Int
            /// Slots kept free for use outside slotgate.
            public var reserved: Int
            /// The conservative count of occupied slots.
            public var inUse: Int
            /// `max(0, limit − reserved − in_use)`.
            public var free: Int
            /// Slots held by this daemon's (or fleet's) leases.
            public var heldByLeases: Int
            /// Slots occupied by sessions no lease holds.
            public var external: Int

            private enum CodingKeys: String, CodingKey {
                case limit, reserved, free, external
                case inUse = "in_use"
                case heldByLeases = "held_by_leases"
            }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                limit = try container.decodeIfPresent(Int.self, forKey: .limit) ?? 0
                reserved = try container.decodeIfPresent(Int.self, forKey: .reserved) ?? 0
                inUse = try container.decodeIfPresent(Int.self, forKey: .inUse) ?? 0
                free = try container.decodeIfPresent(Int.self, forKey: .free) ?? 0
                heldByLeases = try container.decodeIfPresent(Int.self, forKey: .heldByLeases) ?? 0
                external = try container.decodeIfPresent(Int.self, forKey: .external) ?? 0
            }
        }

        /// The wait queue.
        public struct Queue: Sendable, Hashable, Decodable {
            /// Requests waiting for a slot.
            public var waiting: Int
            /// The longest current wait, in milliseconds (0 when nobody waits).
            public var oldestWaitMs: Int64
            /// The waiters of each priority, highest first.
            public var priorities: [Priority]

            /// The waiters of one priority, with estimated waits (seconds; nil when the daemon has no history).
            public struct Priority: Sendable, Hashable, Decodable {
                /// The priority.
                public var priority: Int
                /// Its waiters.
                public var waiting: Int
                /// The estimated wait of its first waiter in grant order.
                public var etaSeconds: Double?
                /// The estimated wait of its last waiter.
                public var lastEtaSeconds: Double?

                private enum CodingKeys: String, CodingKey {
                    case priority, waiting
                    case etaSeconds = "eta_s"
                    case lastEtaSeconds = "last_eta_s"
                }
            }

            private enum CodingKeys: String, CodingKey {
                case waiting, priorities
                case oldestWaitMs = "oldest_wait_ms"
            }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                waiting = try container.decodeIfPresent(Int.self, forKey: .waiting) ?? 0
                oldestWaitMs = try container.decodeIfPresent(Int64.self, forKey: .oldestWaitMs) ?? 0
                priorities = try container.decodeIfPresent([Priority].self, forKey: .priorities) ?? []
            }
        }

        /// The fleet, in shared mode.
        public struct Fleet: Sendable, Hashable, Decodable {
            /// One host of the fleet.
            public struct Host: Sendable, Hashable, Decodable {
                /// Its `shared.host_id`.
                public var hostID: String
                /// Its leases holding slots.
                public var held: Int
                /// Its waiting requests.
                public var waiting: Int
                /// The age of its heartbeat, in milliseconds.
                public var seenMsAgo: Int64

                private enum CodingKeys: String, CodingKey {
                    case held, waiting
                    case hostID = "host_id"
                    case seenMsAgo = "seen_ms_ago"
                }

                public init(from decoder: any Decoder) throws {
                    let container = try decoder.container(keyedBy: CodingKeys.self)
                    hostID = try container.decodeIfPresent(String.self, forKey: .hostID) ?? "?"
                    held = try container.decodeIfPresent(Int.self, forKey: .held) ?? 0
                    waiting = try container.decodeIfPresent(Int.self, forKey: .waiting) ?? 0
                    seenMsAgo = try container.decodeIfPresent(Int64.self, forKey: .seenMsAgo) ?? 0
                }
            }

            /// This host's id.
            public var hostID: String
            /// The host polling the platform for the fleet.
            public var poller: String?
            /// `ok` or `unreachable`.
            public var database: String
            /// Slots this host holds from its fallback share.
            public var fallbackInUse: Int
            /// The fleet's hosts.
            public var hosts: [Host]

            private enum CodingKeys: String, CodingKey {
                case poller, database, hosts
                case hostID = "host_id"
                case fallbackInUse = "fallback_in_use"
            }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                hostID = try container.decodeIfPresent(String.self, forKey: .hostID) ?? "?"
                poller = try container.decodeIfPresent(String.self, forKey: .poller)
                database = try container.decodeIfPresent(String.self, forKey: .database) ?? "?"
                fallbackInUse = try container.decodeIfPresent(Int.self, forKey: .fallbackInUse) ?? 0
                hosts = try container.decodeIfPresent([Host].self, forKey: .hosts) ?? []
            }
        }

        /// The daemon's version.
        public var version: String
        /// Whether the socket listens and the store is loaded.
        public var ready: Bool
        /// The daemon's host name (fleet identity).
        public var host: String
        /// `local` or `shared`.
        public var mode: String
        /// Why grants are paused (`upstream_unavailable`, `token_budget`, `shutting_down`); nil when they are not.
        public var pausedBy: String?
        /// The platform reading.
        public var upstream: Upstream?
        /// The token allowance; nil until read.
        public var tokens: Tokens?
        /// The slot accounting.
        public var slots: Slots?
        /// The wait queue.
        public var queue: Queue?
        /// The fleet, in shared mode; nil in local mode.
        public var fleet: Fleet?
        /// The last reload; nil from older daemons.
        public var reload: Reload?

        private enum CodingKeys: String, CodingKey {
            case version, ready, host, mode, upstream, tokens, slots, queue, fleet, reload
            case pausedBy = "paused_by"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            version = try container.decodeIfPresent(String.self, forKey: .version) ?? "?"
            ready = try container.decodeIfPresent(Bool.self, forKey: .ready) ?? false
            host = try container.decodeIfPresent(String.self, forKey: .host) ?? ""
            mode = try container.decodeIfPresent(String.self, forKey: .mode) ?? "local"
            pausedBy = try container.decodeIfPresent(String.self, forKey: .pausedBy)
            upstream = try container.decodeIfPresent(Upstream.self, forKey: .upstream)
            tokens = try container.decodeIfPresent(Tokens.self, forKey: .tokens)
            slots = try container.decodeIfPresent(Slots.self, forKey: .slots)
            queue = try container.decodeIfPresent(Queue.self, forKey: .queue)
            fleet = try container.decodeIfPresent(Fleet.self, forKey: .fleet)
            reload = try container.decodeIfPresent(Reload.self, forKey: .reload)
        }
    }
}
