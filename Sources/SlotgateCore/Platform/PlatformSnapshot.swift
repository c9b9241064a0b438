//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The level at which the platform applies its concurrency limit.
public enum QuotaScope: String, Sendable, Hashable, Codable {
    /// The limit applies to the key's user.
    case user
    /// The limit applies to the whole organization.
    case org
}

/// One reading of `GET /sessions/quota`.
public struct QuotaReading: Sendable, Hashable {
    /// The level the limit applies at.
    public var scope: QuotaScope
    /// Maximum concurrent sessions.
    public var limit: Int
    /// Sessions the platform counts as active.
    public var active: Int

    /// Creates a reading.
    /// - Parameters:
    ///   - scope: the level the limit applies at.
    ///   - limit: maximum concurrent sessions.
    ///   - active: sessions the platform counts as active.
    public init(scope: QuotaScope, limit: Int, active: Int) {
        self.scope = scope
        self.limit = limit
        self.active = active
    }

    /// `max(0, limit - active)`, computed locally (the platform's own figure may go negative, U9).
    public var available: Int { max(0, limit - active) }
}

/// A session as the platform's list of non-terminal sessions shows it.
public struct ListedSession: Sendable, Hashable {
    /// The platform's session id.
    public var id: String
    /// Its status at the time of the listing.
    public var status: SessionStatus

    /// Creates a listed session.
    /// - Parameters:
    ///   - id: the platform's session id.
    ///   - status: its status at the time of the listing.
    public init(id: String, status: SessionStatus) {
        self.id = id
        self.status = status
    }
}

/// One poll of the platform: a quota reading and the list of non-terminal sessions.
///
/// The quota is requested first, at `sentAt`, and the list second. A session the list shows that was
/// created before `sentAt` had not ended when the quota was read, so `active` counts it (unless it is
/// `queued`, which the platform may leave out, U2). A session created in between may be listed and not
/// counted, and one that ended in between may be counted and not listed: the accounting treats both
/// conservatively.
public struct PlatformSnapshot: Sendable, Hashable {
    /// When the poll's quota request was sent (its first request).
    public var sentAt: Timestamp
    /// The quota reading.
    public var quota: QuotaReading
    /// Ids and statuses of the non-terminal sessions, every page; nil when the list could not be read.
    public var sessions: [ListedSession]?
    /// False when the platform refused the list and `sessions` holds only the tracked sessions that status reads,
    /// sent after the quota request, found non-terminal: a tracked session missing from it is unknown, not gone.
    public var sessionsComplete = true

    /// Creates a snapshot.
    /// - Parameters:
    ///   - sentAt: when the first request of the poll was sent.
    ///   - quota: the quota reading.
    ///   - sessions: the non-terminal sessions, or nil when the list could not be read.
    ///   - sessionsComplete: false when `sessions` holds only status reads of tracked sessions.
    public init(sentAt: Timestamp, quota: QuotaReading, sessions: [ListedSession]?, sessionsComplete: Bool = true) {
        self.sentAt = sentAt
        self.quota = quota
        self.sessions = sessions
        self.sessionsComplete = sessionsComplete
    }
}

/// One reading of `GET /quota/tokens`, with the unknowns of agp-api.md U10 and U11 resolved.
public struct TokenReading: Sendable, Hashable {
    /// Tokens allowed this period; nil means unlimited.
    public var limit: Int?
    /// Tokens used so far; nil when the platform briefly does not know.
    public var used: Int?
    /// Tokens left, as the platform said or computed as `max(limit - used, 0)`.
    public var remaining: Int?
    /// Start of the current period.
    public var windowStart: Timestamp?
    /// End of the current period, when it has one.
    public var windowEnd: Timestamp?
    /// When the request was sent.
    public var sentAt: Timestamp

    /// Creates a reading; `remaining` is computed when the platform left it null but gave both figures.
    /// - Parameters:
    ///   - limit: tokens allowed this period; nil means unlimited.
    ///   - used: tokens used so far, or nil.
    ///   - remaining: tokens left as the platform said, or nil.
    ///   - windowStart: start of the current period.
    ///   - windowEnd: end of the current period, or nil.
    ///   - sentAt: when the request was sent.
    public init(limit: Int?, used: Int?, remaining: Int?, windowStart: Timestamp?, windowEnd: Timestamp?, sentAt: Timestamp) {
        self.limit = limit
        self.used = used
        if let remaining {
            self.remaining = remaining
        } else if let limit, let used {
            self.remaining = max(limit - used, 0)
        } else {
            self.remaining = nil
        }
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.sentAt = sentAt
    }
}
