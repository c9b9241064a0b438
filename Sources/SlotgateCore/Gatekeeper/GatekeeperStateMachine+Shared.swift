//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Everything a gatekeeper decides with, as plain values: what shared mode keeps in the database. A host loads
/// it under the fleet's lock, rebuilds a ``GatekeeperStateMachine`` from it, applies one operation and writes
/// back what changed, so every host grants with the same code and the same accounting as a single daemon.
public struct SharedGatekeeperState: Sendable, Hashable {
    /// A status read asked of the platform, kept so the fleet backs off as one daemon would.
    public struct Confirmation: Sendable, Hashable {
        /// When it was last asked.
        public var askedAt: Timestamp
        /// How many times it was asked.
        public var attempts: Int

        /// Creates a record.
        /// - Parameters:
        ///   - askedAt: when it was last asked.
        ///   - attempts: how many times.
        public init(askedAt: Timestamp, attempts: Int) {
            self.askedAt = askedAt
            self.attempts = attempts
        }
    }

    /// Leases that hold a slot, ended ones that still count, and any other lease an operation names.
    public var leases: [Lease]
    /// The waiting requests of every host, with their sequence numbers.
    public var waiters: [WaitQueue.Waiter]
    /// The newest platform reading.
    public var snapshot: PlatformSnapshot?
    /// Sessions the platform reported terminal while a reading still listed them: the credits.
    public var terminated: [String: EndedSession]
    /// Status reads asked, per session.
    public var confirmations: [String: Confirmation]
    /// A create met 429 at this time.
    public var saturatedSince: Timestamp?
    /// The newest token reading.
    public var tokens: TokenReading?
    /// The last poll failure.
    public var lastPollFailure: String?
    /// Grants made by the fleet.
    public var grantsTotal: Int
    /// Creates the platform refused anyway.
    public var rejected429Total: Int
    /// The next queue sequence numbers (tail, head).
    public var sequences: (tail: Int64, head: Int64)
    /// Bumped by the store on every write; a host keeps the newest view it has seen.
    public var version: Int64
    /// Hosts whose heartbeat stopped (read by the store, never written): their waiters cannot be answered.
    public var goneHosts: Set<String> = []
    /// The fallback shares of other hosts whose heartbeat is late (read by the store, never written): they may be
    /// granting from their share without the database, so the fleet keeps those slots free.
    public var absentShares = 0

    /// An empty state: no reading, no lease, nobody waiting.
    public init() {
        leases = []
        waiters = []
        snapshot = nil
        terminated = [:]
        confirmations = [:]
        saturatedSince = nil
        tokens = nil
        lastPollFailure = nil
        grantsTotal = 0
        rejected429Total = 0
        sequences = (0, -1)
        version = 0
    }

    public static func == (lhs: SharedGatekeeperState, rhs: SharedGatekeeperState) -> Bool {
        lhs.leases == rhs.leases && lhs.waiters == rhs.waiters && lhs.snapshot == rhs.snapshot && lhs.terminated == rhs.terminated
            && lhs.confirmations == rhs.confirmations && lhs.saturatedSince == rhs.saturatedSince && lhs.tokens == rhs.tokens
            && lhs.lastPollFailure == rhs.lastPollFailure && lhs.grantsTotal == rhs.grantsTotal
            && lhs.rejected429Total == rhs.rejected429Total && lhs.sequences == rhs.sequences && lhs.version == rhs.version
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(leases)
        hasher.combine(waiters)
        hasher.combine(grantsTotal)
    }
}

extension GatekeeperStateMachine {
    /// Rebuilds a state machine from a shared state, exactly: nothing is made more conservative, since the state
    /// was written by a machine that kept it up to date (contrast `restore`, for leases read back after a restart).
    /// - Parameters:
    ///   - settings: this host's settings.
    ///   - host: this host's name, written on the leases it creates.
    ///   - shared: the state.
    ///   - seed: seeds lease ids' random bits; nil seeds from the system.
    public init(settings: GatekeeperSettings, host: String, shared: SharedGatekeeperState, seed: UInt64? = nil) {
        self.init(settings: settings, host: host, seed: seed)
        if let reading = shared.snapshot {
            snapshot = reading
            for session in reading.sessions ?? [] {
                if session.status == .queued {
                    listedQueued.insert(session.id)
                } else {
                    listedCounted.insert(session.id)
                }
            }
        }
        // Ended leases go in the order they ended, so retention forgets the oldest first.
        let ordered = shared.leases.sorted { ($0.releasedAt ?? .distantPast, $0.id) < ($1.releasedAt ?? .distantPast, $1.id) }
        for lease in ordered { _ = store(lease) }
        terminated = shared.terminated
        recountCredits()
        confirmations = shared.confirmations.mapValues { Confirmation(askedAt: $0.askedAt, attempts: $0.attempts) }
        saturatedSince = shared.saturatedSince
        tokens = shared.tokens
        lastPollFailure = shared.lastPollFailure
        grantsTotal = shared.grantsTotal
        rejected429Total = shared.rejected429Total
        for waiter in shared.waiters.sorted(by: { $0.sequence < $1.sequence }) { queue.restore(waiter) }
        queue.sequenceCounters = shared.sequences
        sharedVersion = shared.version
        goneHosts = shared.goneHosts
    }

    /// The machine's state as plain values, for shared mode to write back.
    public var sharedState: SharedGatekeeperState {
        var state = SharedGatekeeperState()
        state.leases = leases.values.sorted { $0.id < $1.id }
        state.waiters = queue.ordered()
        state.snapshot = snapshot
        state.terminated = terminated
        state.confirmations = confirmations.mapValues { SharedGatekeeperState.Confirmation(askedAt: $0.askedAt, attempts: $0.attempts) }
        state.saturatedSince = saturatedSince
        state.tokens = tokens
        state.lastPollFailure = lastPollFailure
        state.grantsTotal = grantsTotal
        state.rejected429Total = rejected429Total
        state.sequences = queue.sequenceCounters
        state.version = sharedVersion
        return state
    }

    /// Takes a waiter that is already waiting elsewhere (a host's request kept while the database was away) into
    /// this queue at the tail, keeping its id and deadline, and grants what is possible.
    /// - Parameters:
    ///   - lease: the waiting lease.
    ///   - now: the current time.
    public mutating func enqueueWaiting(_ lease: Lease, now: Timestamp) -> [GatekeeperAction] {
        guard lease.state == .waiting, queue[lease.id] == nil, leases[lease.id] == nil else { return [] }
        queue.enqueue(lease, deadline: lease.waitDeadline)
        return grantWhilePossible(now: now) + [.queueChanged]
    }

    /// Withdraws the waiters of hosts whose heartbeat stopped (their daemons are gone: nobody can receive a
    /// grant), then does what `tick` does.
    /// - Parameter now: the current time.
    public mutating func sharedTick(now: Timestamp) -> [GatekeeperAction] {
        withdrawWaiters(ofHosts: goneHosts) + tick(now: now)
    }

    private mutating func withdrawWaiters(ofHosts hosts: Set<String>) -> [GatekeeperAction] {
        guard !hosts.isEmpty else { return [] }
        let gone = queue.ordered().filter { hosts.contains($0.lease.host) }
        for waiter in gone { queue.remove(waiter.lease.id) }
        return gone.isEmpty ? [] : [.queueChanged]
    }

    /// A host back from an outage of the database brings in what it did meanwhile: its leases as it holds them now
    /// (taken as a restart restores them: not yet seen by the platform until a reading sent after now), and its
    /// waiting requests (those it answered meanwhile leave the fleet's queue).
    /// - Parameters:
    ///   - leases: the host's leases, live and ended.
    ///   - waiting: the host's requests still waiting.
    ///   - host: the host.
    ///   - now: the current time.
    public mutating func reconcile(leases: [Lease], waiting: [Lease], of host: String, now: Timestamp) -> [GatekeeperAction] {
        var actions: [GatekeeperAction] = []
        let stillWaiting = Set(waiting.map(\.id))
        for waiter in queue.ordered() where waiter.lease.host == host && !stillWaiting.contains(waiter.lease.id) {
            queue.remove(waiter.lease.id)
        }
        for lease in leases where lease.state != .waiting {
            if queue[lease.id] != nil { queue.remove(lease.id) }
            if self.leases[lease.id] == lease { continue }
            restore(lease, now: now)
            if let stored = self.leases[lease.id] { actions.append(.persist(stored)) }
        }
        // Waiters the fleet lost meanwhile (withdrawn as a silent host's) go back at their place by arrival, not at
        // the tail.
        for lease in waiting.sorted(by: { $0.requestedAt < $1.requestedAt }) where queue[lease.id] == nil && self.leases[lease.id] == nil {
            queue.enqueueByArrival(lease, deadline: lease.waitDeadline)
        }
        return actions + grantWhilePossible(now: now) + [.queueChanged]
    }

    /// Answers `shutting_down` to this host's waiters only and takes them out of the queue (a host of a fleet
    /// stops; the others go on).
    public mutating func withdrawOwnWaiters() -> [GatekeeperAction] {
        let mine = queue.ordered().filter { $0.lease.host == host }
        for waiter in mine { queue.remove(waiter.lease.id) }
        return mine.map { .fail($0.lease.id, .shuttingDown) } + (mine.isEmpty ? [] : [.queueChanged])
    }
}
