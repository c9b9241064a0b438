//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where a fleet keeps its one gatekeeper state in shared mode (PostgreSQL). Every decision of any host is one
/// transaction under the fleet's lock: load the state, decide with the same state machine as a single daemon,
/// write back what changed, commit. Two hosts therefore never both take the last slot.
public protocol SharedStateStore: Sendable {
    /// Runs `decide` on the fleet's state in one transaction under the fleet's lock; what it returns as the new
    /// state is written back and its notices are sent to the other hosts when the transaction commits.
    /// - Parameters:
    ///   - ids: leases the decision names, loaded even when they ended (live and counting ones always are).
    ///   - decide: the decision; it gets the state and the database's current time.
    /// - Returns: what `decide` returned.
    func transact<T: Sendable>(
        naming ids: [LeaseID],
        _ decide: @escaping @Sendable (SharedGatekeeperState, Timestamp) -> SharedDecision<T>
    ) async throws -> T

    /// Reads the fleet's state without taking the lock (one consistent read).
    /// - Parameter ids: leases to load even when they ended.
    func read(naming ids: [LeaseID]) async throws -> SharedGatekeeperState

    /// Leases of every host that ended within `window` and no longer count (the listing shows them).
    /// - Parameter window: how far back.
    func recentlyEnded(within window: Duration) async throws -> [Lease]

    /// The fleet's members: the polling host and each host's heartbeat age.
    func members() async throws -> FleetMembers
}

/// The hosts of a fleet as the database knows them.
public struct FleetMembers: Sendable, Hashable {
    /// The host holding the poller claim, if any.
    public var poller: String?
    /// Each host's heartbeat age.
    public var seen: [String: Duration]
    /// Each host's `shared.fallback_share`.
    public var shares: [String: Int]

    /// Creates a member list.
    /// - Parameters:
    ///   - poller: the polling host.
    ///   - seen: heartbeat ages by host.
    ///   - shares: fallback shares by host.
    public init(poller: String?, seen: [String: Duration], shares: [String: Int] = [:]) {
        self.poller = poller
        self.seen = seen
        self.shares = shares
    }
}

/// What one decision returns to the store.
public struct SharedDecision<T: Sendable>: Sendable {
    /// The state to write back.
    public var state: SharedGatekeeperState
    /// The caller's result.
    public var value: T
    /// What the other hosts must hear of.
    public var notices: [FleetNotice]

    /// Creates a decision.
    /// - Parameters:
    ///   - state: the new state.
    ///   - value: the caller's result.
    ///   - notices: notices for the other hosts.
    public init(state: SharedGatekeeperState, value: T, notices: [FleetNotice]) {
        self.state = state
        self.value = value
        self.notices = notices
    }
}

/// A message from one host of a fleet to the others, sent when a decision commits (LISTEN/NOTIFY). Notices are
/// hints to act now; the database stays the truth, and every host also re-reads it on a timer.
public enum FleetNotice: Sendable, Hashable {
    /// A waiter of `host` was granted its lease.
    case granted(host: String, LeaseID)
    /// A waiter of `host` failed (its wait ran out).
    case failed(host: String, LeaseID, GatekeeperError)
    /// Work for the fleet's poller.
    case work(UpstreamWork)
    /// The fleet's state changed (queue, leases or reading).
    case changed
}
