//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where a lease is in its life (socket-api.md "Objects").
public enum LeaseState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Queued for a slot; not yet granted.
    case waiting
    /// Holds a slot with no session yet; expires at `expiresAt` unless bound or renewed.
    case granted
    /// A platform session is attached; the slot frees when the platform reports it terminal.
    case bound
    /// Released by its holder while the platform still reports the session non-terminal.
    case draining
    /// Ended: released by its holder, or its session ended.
    case released
    /// Ended: an unbound lease whose claim TTL ran out.
    case expired

    /// Whether the lease has ended.
    public var isEnded: Bool { self == .released || self == .expired }

    /// Whether the lease holds a slot (granted, bound or draining).
    public var holdsSlot: Bool { self == .granted || self == .bound || self == .draining }
}

/// Who asked: the peer's credentials from SO_PEERCRED plus the holder string it chose.
public struct HolderKey: Sendable, Hashable, Comparable {
    /// The peer's user id.
    public var uid: UInt32
    /// The client's holder string (≤ 128 characters).
    public var holder: String

    /// Creates a key.
    /// - Parameters:
    ///   - uid: the peer's user id.
    ///   - holder: the holder string.
    public init(uid: UInt32, holder: String) {
        self.uid = uid
        self.holder = holder
    }

    public static func < (lhs: HolderKey, rhs: HolderKey) -> Bool {
        (lhs.uid, lhs.holder) < (rhs.uid, rhs.holder)
    }
}

/// A claim on one concurrency slot.
public struct Lease: Sendable, Hashable {
    /// The lease id.
    public var id: LeaseID
    /// Where the lease is in its life.
    public var state: LeaseState
    /// The holder string.
    public var holder: String
    /// The peer's uid, gid and pid.
    public var uid: UInt32
    /// The peer's gid.
    public var gid: UInt32
    /// The peer's pid.
    public var pid: Int32
    /// Priority, -10...10; higher goes first.
    public var priority: Int
    /// The platform session attached to the lease.
    public var sessionID: String?
    /// When the request arrived.
    public var requestedAt: Timestamp
    /// When the slot was granted.
    public var grantedAt: Timestamp?
    /// When an unbound lease expires; nil when waiting, bound, draining or ended.
    public var expiresAt: Timestamp?
    /// When the lease ended.
    public var releasedAt: Timestamp?
    /// How long an unbound lease lives without renewal.
    public var claimTTL: Duration
    /// The fleet host that granted the lease.
    public var host: String

    // Accounting facts (design.md "Slot accounting"), not shown to clients.

    /// When the lease was bound to its session.
    public var boundAt: Timestamp?
    /// When the request's wait runs out (kept so a request sent back to the queue keeps its deadline).
    public var waitDeadline: Timestamp?
    /// Set while a create sent with this lease has not settled: when it was sent, or when its last attempt got no
    /// answer. Such a lease neither expires nor can be released; its end counts until a reading sent after this.
    public var createInDoubtSince: Timestamp?
    /// Set when an unbound lease ended but its holder may have created a session the platform does not count yet.
    public var countsUntilSnapshotAfter: Timestamp?

    /// Creates a waiting lease.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - holder: the holder string.
    ///   - uid: the peer's uid.
    ///   - gid: the peer's gid.
    ///   - pid: the peer's pid.
    ///   - priority: -10...10.
    ///   - claimTTL: how long the lease lives unbound without renewal.
    ///   - requestedAt: when the request arrived.
    ///   - host: the host granting it.
    public init(
        id: LeaseID,
        holder: String,
        uid: UInt32,
        gid: UInt32,
        pid: Int32,
        priority: Int,
        claimTTL: Duration,
        requestedAt: Timestamp,
        host: String
    ) {
        self.id = id
        self.state = .waiting
        self.holder = holder
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.priority = priority
        self.claimTTL = claimTTL
        self.requestedAt = requestedAt
        self.host = host
    }

    /// The holder key that grant order and the per-holder cap use.
    public var holderKey: HolderKey { HolderKey(uid: uid, holder: holder) }

    /// How long the request waited before its grant.
    public var waited: Duration? {
        grantedAt.map { requestedAt.duration(to: $0) }
    }
}
