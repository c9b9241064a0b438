//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The settings the core reads (design.md "Configuration keys"); the daemon builds them from its config.
public struct GatekeeperSettings: Sendable, Hashable {
    /// `leases.claim_ttl_s`: life of an unbound lease without renewal.
    public var claimTTL: Duration = .seconds(60)
    /// `queue.default_wait_s`: wait when a request names none.
    public var defaultWait: Duration = .seconds(300)
    /// `queue.max_waiters`: beyond, `queue_full`.
    public var maxWaiters = 10_000
    /// `queue.max_per_holder`: leases plus waiters of one holder; 0 means no cap.
    public var maxPerHolder = 0
    /// `queue.max_per_uid`: leases plus waiters of one uid, all its holders together; 0 means no cap.
    public var maxPerUID = 0
    /// `slots.max`: a cap below the platform's limit.
    public var slotsMax: Int?
    /// `slots.reserve`: slots left free for people and tools outside slotgate.
    public var reserve = 0
    /// `upstream.max_staleness_s`: older quota readings pause grants.
    public var maxStaleness: Duration = .seconds(60)
    /// `upstream.poll_interval_s`: an acquire that finds an older reading asks for a poll at once.
    public var fastPollInterval: Duration = .seconds(2)
    /// `tokens.min_remaining`: pause grants at or below this many tokens left; 0 is off.
    public var tokensMinRemaining = 0
    /// While the platform refuses the session list, a tracked session that a status read finds running counts as in
    /// `active` once it was bound this long before the quota request (how far `active` may lag a new session, U3).
    /// With the list, the larger of `active` and the list is the base and needs no such bound.
    public var activeLagAllowance: Duration = .seconds(10)
    /// Shared mode's fallback: how many leases this host may hold (granted, bound or draining) while it decides
    /// alone; nil is no cap. Grants then need both this and the platform's reading to leave room.
    public var maxHeld: Int?
    /// Shared mode's fallback: this host's part of the room a fresh reading leaves, as its share over the sum of the
    /// fleet's shares (at least the limit). Hosts that decide alone see the same reading, so each takes only its
    /// part of the room, and together they never take more than there is.
    public var roomShare: RoomShare?
    /// How long released and expired leases stay visible (at least 10 minutes).
    public var endedRetention: Duration = .seconds(600)

    /// Creates the default settings.
    public init() {}
}

/// Shared mode's fallback: a host's part of the room a reading leaves (see ``GatekeeperSettings/roomShare``).
public struct RoomShare: Sendable, Hashable {
    /// This host's share.
    public var share: Int
    /// The sum of the fleet's shares, at least the limit.
    public var total: Int

    /// Creates a part.
    /// - Parameters:
    ///   - share: this host's share.
    ///   - total: the sum of the fleet's shares.
    public init(share: Int, total: Int) {
        self.share = share
        self.total = total
    }
}

/// Why grants are paused, as `/v1/status` shows it in `paused_by`.
public enum PauseReason: String, Sendable, Hashable, CaseIterable {
    /// No trustworthy quota reading yet, or it is too old.
    case upstreamUnavailable = "upstream_unavailable"
    /// The token allowance is at or below `tokens.min_remaining`.
    case tokenBudget = "token_budget"
    /// The daemon is stopping.
    case shuttingDown = "shutting_down"
}

/// A request for a slot, as the local API received it.
public struct AcquireRequest: Sendable, Hashable {
    /// The holder string (≤ 128 characters).
    public var holder: String
    /// The peer's uid, gid and pid (SO_PEERCRED).
    public var uid: UInt32
    /// The peer's gid.
    public var gid: UInt32
    /// The peer's pid.
    public var pid: Int32
    /// -10...10, default 0.
    public var priority: Int
    /// How long to wait; nil uses `queue.default_wait_s`; zero tries once.
    public var wait: Duration?
    /// The claim TTL; nil uses `leases.claim_ttl_s`.
    public var claimTTL: Duration?

    /// Creates a request.
    /// - Parameters:
    ///   - holder: the holder string.
    ///   - uid: the peer's uid.
    ///   - gid: the peer's gid.
    ///   - pid: the peer's pid.
    ///   - priority: -10...10.
    ///   - wait: how long to wait, nil for the default, zero to try once.
    ///   - claimTTL: the claim TTL, nil for the default.
    public init(
        holder: String = "",
        uid: UInt32 = 0,
        gid: UInt32 = 0,
        pid: Int32 = 0,
        priority: Int = 0,
        wait: Duration? = nil,
        claimTTL: Duration? = nil
    ) {
        self.holder = holder
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.priority = priority
        self.wait = wait
        self.claimTTL = claimTTL
    }

    /// Checks the ranges of socket-api.md; the error names the field.
    public func validate() throws(GatekeeperError) {
        guard holder.count <= 128 else { throw .badRequest("holder must be at most 128 characters.") }
        guard (-10...10).contains(priority) else { throw .badRequest("priority must be an integer from -10 to 10.") }
        if let wait, wait < .zero || wait > .seconds(86_400) {
            throw .badRequest("wait_s must be from 0 to 86400.")
        }
        if let claimTTL, claimTTL < .seconds(1) || claimTTL > .seconds(3600) {
            throw .badRequest("claim_ttl_s must be from 1 to 3600.")
        }
    }
}
