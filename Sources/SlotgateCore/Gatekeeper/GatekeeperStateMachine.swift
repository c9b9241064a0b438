//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import DequeModule
import HeapModule

/// A side effect the owner of the state machine must carry out.
public enum GatekeeperAction: Sendable, Hashable {
    /// Deliver this granted lease to the request waiting for it (after persisting it).
    case grant(Lease)
    /// Answer the request waiting with this lease id with an error.
    case fail(LeaseID, GatekeeperError)
    /// Write this lease's new state to the store.
    case persist(Lease)
    /// Forget an ended lease in the store (its retention ran out).
    case forget(LeaseID)
    /// Ask the platform something (poll now, confirm a session, cancel a session).
    case upstream(UpstreamWork)
    /// Waiters' positions may have changed.
    case queueChanged
}

/// Every decision of the gatekeeper: leases, grant order and slot accounting. Pure and deterministic: time is
/// passed in, nothing is read or written outside, and every method returns the actions to carry out.
public struct GatekeeperStateMachine: Sendable {
    enum Phase: Sendable, Hashable {
        /// Taking requests.
        case running
        /// Stopping: waiters were answered `shutting_down`, new requests are refused.
        case shuttingDown
    }

    private struct ExpiryEntry: Sendable, Comparable {
        var expiresAt: Timestamp
        var id: LeaseID
        static func < (lhs: ExpiryEntry, rhs: ExpiryEntry) -> Bool { (lhs.expiresAt, lhs.id) < (rhs.expiresAt, rhs.id) }
    }

    struct Confirmation: Sendable, Hashable {
        var askedAt: Timestamp
        var attempts: Int
    }

    /// The settings in force.
    public private(set) var settings: GatekeeperSettings
    /// This host's name, written on every lease.
    public let host: String
    /// Grants made since start.
    public internal(set) var grantsTotal = 0
    /// Creates the platform refused with 429 anyway.
    public internal(set) var rejected429Total = 0

    var phase = Phase.running
    var random: SplitMix64
    var queue = WaitQueue()
    /// Granted, bound and draining leases, plus ended ones kept for their retention.
    var leases: [LeaseID: Lease] = [:]
    /// Leases that hold a slot.
    private var live: Set<LeaseID> = []
    /// Ended unbound leases that keep their slot until a reading sent after they ended.
    private var endedCounting: Set<LeaseID> = []
    /// Ended leases in the order they ended, for pruning.
    private var history: Deque<LeaseID> = []
    /// Live leases by their session id.
    private var bySession: [String: LeaseID] = [:]
    /// Who created each session bound to a lease of this host, live or ended (until the lease leaves the ledger,
    /// `leases.retention_h`): the lease's uid, for `proxy.session_scope: uid`.
    private var sessionOwners: [String: (uid: UInt32, lease: LeaseID)] = [:]
    private var heldPerHolder: [HolderKey: Int] = [:]
    /// Leases each uid holds now, all its holders together (granted, bound, draining).
    private var heldPerUID: [UInt32: Int] = [:]
    private var expiries = Heap<ExpiryEntry>()
    /// The newest platform reading.
    public internal(set) var snapshot: PlatformSnapshot?
    /// Sessions in the newest list that `active` counts (every listed status but `queued`).
    var listedCounted: Set<String> = []
    /// Sessions in the newest list that are `queued` (counted as occupied, U2).
    var listedQueued: Set<String> = []
    /// Sessions the platform reported terminal (or unknown) while a reading may still count them in `active`:
    /// the credits. Kept while the newest reading lists them and was sent before the report.
    var terminated: [String: EndedSession] = [:]
    /// How many of `terminated` the newest reading's `active` surely counted: the credit.
    var terminatedListed = 0
    /// A create met 429 at this time: count every slot as taken until a reading sent after it.
    var saturatedSince: Timestamp?
    /// The newest token reading.
    public internal(set) var tokens: TokenReading?
    /// The last poll failure, cleared by a good reading.
    public internal(set) var lastPollFailure: String?
    var confirmations: [String: Confirmation] = [:]
    /// Granted leases that came from the queue, with their place in it: a create refused with 429 sends the request
    /// back to that place.
    private var grantedPlaces: [LeaseID: Int64] = [:]
    /// When each tracked session was last seen by a list or a status read: while the platform refuses the list,
    /// the poller reads the least recently seen ones first.
    private var sessionReadAt: [String: Timestamp] = [:]

    /// How long recent leases held their slots, for waiters' estimated grant times.
    public internal(set) var estimator = WaitEstimator()

    /// Shared mode: the version of the fleet state this machine was rebuilt from.
    public internal(set) var sharedVersion: Int64 = -1
    /// Shared mode: hosts whose heartbeat stopped.
    var goneHosts: Set<String> = []

    /// Creates a state machine.
    /// - Parameters:
    ///   - settings: the settings in force.
    ///   - host: this host's name.
    ///   - seed: seeds lease ids' random bits; nil seeds from the system.
    public init(settings: GatekeeperSettings, host: String, seed: UInt64? = nil) {
        self.settings = settings
        self.host = host
        self.random = seed.map { SplitMix64(seed: $0) } ?? SplitMix64()
    }

    // MARK: Reading

    /// A lease by id: live, or ended and still retained.
    /// - Parameter id: the lease id.
    public func lease(_ id: LeaseID) -> Lease? { leases[id] ?? queue[id]?.lease }

    /// Every retained lease (live and recently ended), in id order.
    public var allLeases: [Lease] { leases.values.sorted { $0.id < $1.id } }

    /// Leases that hold a slot.
    public var liveLeases: [Lease] { live.compactMap { leases[$0] }.sorted { $0.id < $1.id } }

    /// The waiters in grant order.
    public func waiters() -> [WaitQueue.Waiter] { queue.ordered() }

    /// The number of waiters.
    public var waitingCount: Int { queue.count }

    /// The waiters in grant order, each with its estimated grant time (``WaitEstimator``): nil when no lease has
    /// ended within the retention, or before the first reading of the platform.
    /// - Parameter now: the current time.
    public func forecast(now: Timestamp) -> [(waiter: WaitQueue.Waiter, grantAt: Timestamp?)] {
        let waiters = queue.ordered()
        guard !waiters.isEmpty else { return [] }
        let slots = count(at: now)
        var held: [WaitEstimator.HeldSlot] = []
        held.reserveCapacity(live.count)
        for id in live {
            guard let lease = leases[id] else { continue }
            held.append(WaitEstimator.HeldSlot(holder: lease.holderKey, age: lease.grantedAt.map { $0.duration(to: now) }))
        }
        // Sessions no lease of this host holds (created without it, or another host's in the count): age unknown.
        for _ in 0..<max(0, slots.inUse - held.count) { held.append(WaitEstimator.HeldSlot(holder: nil, age: nil)) }
        let times = estimator.grantTimes(
            waiters: waiters.map(\.lease.holderKey),
            held: held,
            capacity: snapshot == nil ? 0 : max(0, slots.limit - slots.reserved),
            now: now,
            since: now.advanced(by: .zero - settings.endedRetention)
        )
        return zip(waiters, times).map { ($0, $1) }
    }

    /// When the oldest waiter arrived.
    public var oldestWaiterRequest: Timestamp? { queue.oldestRequest }

    /// Whether the poller should keep its fast pace: someone waits, or a lease is unbound or draining.
    public var pollingPace: PollingPace {
        if !queue.isEmpty || !endedCounting.isEmpty || saturatedSince != nil { return .fast }
        for id in live {
            if let state = leases[id]?.state, state == .granted || state == .draining { return .fast }
        }
        return .idle
    }

    /// The uid that created `session` through a lease of this host, or nil when no lease of this host in the
    /// ledger was bound to it.
    /// - Parameter session: the platform's session id.
    public func sessionOwner(_ session: String) -> UInt32? { sessionOwners[session]?.uid }

    /// Tracked sessions (bound or draining leases), least recently seen first: what the poller reads one by one
    /// while the platform refuses the list.
    /// - Parameter limit: how many at most.
    public func sessionsToRead(limit: Int) -> [String] {
        bySession.keys.sorted { (sessionReadAt[$0] ?? .distantPast, $0) < (sessionReadAt[$1] ?? .distantPast, $1) }
            .prefix(limit).map { $0 }
    }

    /// Whether the newest reading had to do without the session list (the platform refused it).
    public var sessionListRefused: Bool { snapshot.map { !$0.sessionsComplete } ?? false }

    /// Whether a poll needs the session list: sessions are tracked (bound or draining leases) or requests wait.
    /// Without a list the count is conservative (every bound lease counts on top of `active`).
    public var needsSessionList: Bool {
        !queue.isEmpty || !bySession.isEmpty
    }

    /// Why grants are paused now, if they are.
    /// - Parameter now: the current time.
    public func pause(at now: Timestamp) -> PauseReason? {
        if phase == .shuttingDown { return .shuttingDown }
        guard let snapshot, snapshot.sentAt.duration(to: now) <= settings.maxStaleness else { return .upstreamUnavailable }
        if tokensExhausted(at: now) { return .tokenBudget }
        return nil
    }

    private func tokensExhausted(at now: Timestamp) -> Bool {
        guard settings.tokensMinRemaining > 0, let tokens, tokens.limit != nil, let remaining = tokens.remaining else { return false }
        if let windowEnd = tokens.windowEnd, now >= windowEnd { return false }
        return remaining <= settings.tokensMinRemaining
    }

    /// The next time `tick` has something to do: a lease expiry, a waiter's deadline, the staleness limit
    /// while someone waits, or a token window's reset while paused for tokens.
    /// - Parameter now: the current time.
    public mutating func nextDeadline(now: Timestamp) -> Timestamp? {
        var next: Timestamp? = nil
        func consider(_ time: Timestamp?) {
            guard let time else { return }
            next = min(next ?? time, time)
        }
        while let first = expiries.min {
            if let lease = leases[first.id], lease.state == .granted, lease.expiresAt == first.expiresAt { break }
            _ = expiries.popMin()
        }
        consider(expiries.min?.expiresAt)
        consider(queue.nextDeadline())
        if !queue.isEmpty, let snapshot { consider(snapshot.sentAt.advanced(by: settings.maxStaleness + .milliseconds(1))) }
        if tokensExhausted(at: now), let windowEnd = tokens?.windowEnd { consider(windowEnd) }
        if let first = history.first, let ended = leases[first]?.releasedAt { consider(ended.advanced(by: settings.endedRetention)) }
        return next
    }

    // MARK: Requests

    /// A request for a slot. The request's own outcome comes back among the actions: `.grant` with its lease,
    /// `.fail` with its id, or nothing when it waits.
    /// - Parameters:
    ///   - request: the request.
    ///   - now: the current time.
    /// - Returns: the new lease's id and the actions.
    public mutating func acquire(_ request: AcquireRequest, now: Timestamp) -> (LeaseID, [GatekeeperAction]) {
        let id = LeaseID(time: now, random: &random)
        do {
            try request.validate()
        } catch {
            return (id, [.fail(id, error)])
        }
        if phase == .shuttingDown { return (id, [.fail(id, .shuttingDown)]) }
        let holder = HolderKey(uid: request.uid, holder: request.holder)
        let mine = heldPerHolder[holder, default: 0] + queue.waiting(for: holder)
        if settings.maxPerHolder > 0, mine >= settings.maxPerHolder {
            return (id, [.fail(id, .queueFull("holder '\(request.holder)' already has \(mine) leases and waiters (queue.max_per_holder)"))])
        }
        let uidsOwn = heldPerUID[request.uid, default: 0] + queue.waiting(forUID: request.uid)
        if settings.maxPerUID > 0, uidsOwn >= settings.maxPerUID {
            return (id, [.fail(id, .queueFull("uid \(request.uid) already has \(uidsOwn) leases and waiters (queue.max_per_uid)"))])
        }
        var lease = Lease(
            id: id,
            holder: request.holder,
            uid: request.uid,
            gid: request.gid,
            pid: request.pid,
            priority: request.priority,
            claimTTL: request.claimTTL ?? settings.claimTTL,
            requestedAt: now,
            host: host
        )
        let wait = request.wait ?? settings.defaultWait
        lease.waitDeadline = now.advanced(by: wait)
        if wait == .zero {
            if let reason = pause(at: now) {
                return (id, [.fail(id, Self.tryOnceError(reason))])
            }
            guard queue.isEmpty, count(at: now).free > 0 else { return (id, [.fail(id, .waitTimeout)]) }
            return (id, grant(lease, now: now))
        }
        guard queue.count < settings.maxWaiters else {
            return (id, [.fail(id, .queueFull("\(queue.count) requests wait already (queue.max_waiters)"))])
        }
        queue.enqueue(lease, deadline: lease.waitDeadline)
        var actions = grantWhilePossible(now: now)
        if queue[id] != nil {
            if snapshot.map({ $0.sentAt.duration(to: now) > settings.fastPollInterval }) ?? true {
                actions.append(.upstream(.pollNow))
            }
            actions.append(.queueChanged)
        }
        return (id, actions)
    }

    private static func tryOnceError(_ reason: PauseReason) -> GatekeeperError {
        switch reason {
        case .upstreamUnavailable: .upstreamUnavailable
        case .tokenBudget: .tokenBudgetExhausted
        case .shuttingDown: .shuttingDown
        }
    }

    /// A waiting request went away (its client disconnected). O(1).
    /// - Parameter id: the waiting lease's id.
    /// - Returns: whether it was waiting.
    public mutating func cancel(_ id: LeaseID) -> (Bool, [GatekeeperAction]) {
        guard queue.remove(id) != nil else { return (false, []) }
        return (true, [.queueChanged])
    }

    /// A grant whose answer could not be delivered: the client never learned of it, so it cannot have created a
    /// session, and the slot goes to the next waiter at once.
    /// - Parameters:
    ///   - id: the granted lease.
    ///   - now: the current time.
    public mutating func undeliverable(_ id: LeaseID, now: Timestamp) -> [GatekeeperAction] {
        guard var lease = leases[id], lease.state == .granted else { return [] }
        _ = try? lease.release(at: now)
        lease.countsUntilSnapshotAfter = nil
        var actions = store(lease)
        actions += grantWhilePossible(now: now)
        return actions
    }

    /// Binds a granted lease to the platform session created with it.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - session: the platform session id.
    ///   - now: the current time.
    public mutating func bind(_ id: LeaseID, to session: String, now: Timestamp) throws(GatekeeperError) -> (Lease, [GatekeeperAction]) {
        guard var lease = leases[id] else {
            if queue[id] != nil { throw .leaseConflict(id, "the lease has not been granted yet") }
            throw .leaseNotFound(id.rawValue)
        }
        if let other = bySession[session], other != id {
            throw .leaseConflict(id, "session \(session) is bound to another lease")
        }
        guard try lease.bind(to: session, at: now) else { return (lease, []) }
        return (lease, store(lease))
    }

    /// Pushes a granted lease's expiry forward; a no-op for bound and draining ones.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - now: the current time.
    public mutating func renew(_ id: LeaseID, now: Timestamp) throws(GatekeeperError) -> (Lease, [GatekeeperAction]) {
        guard var lease = leases[id] else {
            if queue[id] != nil { throw .leaseConflict(id, "the lease has not been granted yet") }
            throw .leaseNotFound(id.rawValue)
        }
        guard try lease.renew(at: now) else { return (lease, []) }
        return (lease, store(lease))
    }

    /// A holder releases its lease: granted → released (the slot stays counted until a reading sent after now);
    /// bound → draining until the platform reports the session terminal; a session already known terminal frees
    /// at once. `cancelSession` also asks the platform to cancel a bound or draining lease's session.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - cancelSession: whether to cancel the session on the platform.
    ///   - now: the current time.
    public mutating func release(
        _ id: LeaseID,
        cancelSession: Bool = false,
        now: Timestamp
    ) throws(GatekeeperError) -> (
        Lease, [GatekeeperAction]
    ) {
        guard var lease = leases[id] else {
            if queue[id] != nil { throw .leaseConflict(id, "a waiting request is cancelled by closing its connection") }
            throw .leaseNotFound(id.rawValue)
        }
        if lease.state == .granted, createUnsettled(lease, now: now) {
            // Freeing it now would hand the slot on while the platform may still commit the create.
            throw .leaseConflict(id, "a create sent with this lease has not settled yet; the daemon settles it and then ends the lease")
        }
        var actions: [GatekeeperAction] = []
        if try lease.release(at: now) {
            actions += store(lease)
        }
        if let session = lease.sessionID, lease.state == .draining {
            if terminated[session] != nil {
                try lease.sessionEnded(at: now)
                actions += store(lease)
            } else {
                actions.append(.upstream(cancelSession ? .cancelSession(session) : .confirmSession(session)))
                confirmations[session] = Confirmation(askedAt: now, attempts: 1)
            }
        }
        actions += grantWhilePossible(now: now)
        return (leases[id] ?? lease, actions)
    }

    // MARK: Proxy creates

    /// What became of a create sent with a granted lease.
    public enum CreateOutcome: Sendable, Hashable {
        /// 201: the session exists; the lease is bound to it.
        case created(sessionID: String)
        /// The platform answered 429 anyway: someone outside took the slot.
        case rejectedTooManyRequests
        /// The same, for a lease its holder named (`Slotgate-Lease`): it waits again, for `wait` or the default
        /// wait (`queue.default_wait_s`).
        case rejectedTooManyRequestsNamed(wait: Duration?)
        /// Another final answer (4xx): no session was created; the lease is released.
        case rejected
        /// No answer (timeout, 5xx): the session may exist; the slot stays counted until it is settled.
        case noAnswer
    }

    /// How long after its last attempt was sent (or went unanswered) a create is taken to be settled on the platform,
    /// committed or dropped, when nothing answered it: the settling task sends an attempt at least every 90 s
    /// (`ProxyRoutes.attemptWindow` plus its longest pause), so a mark older than this means that task is gone (a
    /// kill or a restart). Platforms answer or drop a request long before: HTTP gateways cut requests at a minute.
    public static let createSettleBound = Duration.seconds(120)

    /// Whether a create sent with this lease may still commit: its mark is younger than ``createSettleBound`` and
    /// its host (in a fleet) is not gone.
    func createUnsettled(_ lease: Lease, now: Timestamp) -> Bool {
        guard let since = lease.createInDoubtSince, !goneHosts.contains(lease.host) else { return false }
        return since.duration(to: now) < Self.createSettleBound
    }

    /// A create is about to be sent with a granted lease: until its outcome settles it (``createOutcome(_:_:now:)``),
    /// the lease neither expires nor can be released, since the platform may commit the create at any time.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - now: the current time.
    public mutating func beginCreate(_ id: LeaseID, now: Timestamp) throws(GatekeeperError) -> (Lease, [GatekeeperAction]) {
        guard var lease = leases[id] else { throw .leaseNotFound(id.rawValue) }
        guard lease.state == .granted else { throw .leaseConflict(id, "a \(lease.state.rawValue) lease cannot create a session") }
        lease.createInDoubtSince = now
        lease.expiresAt = now.advanced(by: lease.claimTTL)
        return (lease, store(lease))
    }

    /// Records the outcome of a create made with a granted lease.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - outcome: what the platform answered.
    ///   - now: the current time.
    public mutating func createOutcome(
        _ id: LeaseID,
        _ outcome: CreateOutcome,
        now: Timestamp
    ) throws(GatekeeperError) -> (
        Lease, [GatekeeperAction]
    ) {
        guard var lease = leases[id] else { throw .leaseNotFound(id.rawValue) }
        switch outcome {
        case .created(let session):
            return try bind(id, to: session, now: now)
        case .noAnswer:
            guard lease.state == .granted else { throw .leaseConflict(id, "only a granted lease creates a session") }
            lease.createInDoubtSince = now
            return (lease, store(lease) + [.upstream(.pollNow)])
        case .rejected:
            // Settled: no session this daemon can track was made (a 4xx, or a 2xx without an id, which the quota
            // counts). The slot stays counted until a reading sent after now.
            guard lease.state == .granted else { throw .leaseConflict(id, "only a granted lease creates a session") }
            lease.createInDoubtSince = min(lease.createInDoubtSince ?? now, now)
            try lease.release(at: now)
            var actions = store(lease)
            actions += grantWhilePossible(now: now)
            return (lease, actions)
        case .rejectedTooManyRequests, .rejectedTooManyRequestsNamed:
            // The platform is full: count every slot as taken until a reading sent after now, read at once,
            // and send the request back to its place in the queue. The refused create made no session, so the
            // lease's slot needs no settling.
            rejected429Total += 1
            saturatedSince = max(saturatedSince ?? now, now)
            try lease.requeue()
            if case .rejectedTooManyRequestsNamed(let wait) = outcome {
                // The holder's own lease (named in Slotgate-Lease) may be older than its first wait: it waits
                // again, as a new request would, so the 429 does not end it.
                let waitUntil = now.advanced(by: wait ?? settings.defaultWait)
                lease.waitDeadline = max(lease.waitDeadline ?? waitUntil, waitUntil)
            }
            leases[id] = nil
            live.remove(id)
            changeHeld(lease.holderKey, by: -1)
            queue.enqueue(lease, deadline: lease.waitDeadline, atHead: true, place: grantedPlaces.removeValue(forKey: id))
            return (lease, [.forget(id), .upstream(.pollNow), .queueChanged])
        }
    }

    /// The platform answered 429 to a forwarded request that makes no session (a message that would restart an
    /// ended session at the limit, a capacity refusal): it says it is full. As after a refused create, every slot
    /// counts as taken until a reading sent after now, which is read at once; no lease changes.
    /// - Parameter now: the current time.
    public mutating func platformRefused(now: Timestamp) -> [GatekeeperAction] {
        rejected429Total += 1
        saturatedSince = max(saturatedSince ?? now, now)
        return [.upstream(.pollNow)]
    }

    // MARK: Platform readings

    /// A poll's reading: the quota and the non-terminal sessions.
    /// - Parameters:
    ///   - reading: the snapshot.
    ///   - now: the current time.
    public mutating func observe(_ reading: PlatformSnapshot, now: Timestamp) -> [GatekeeperAction] {
        if let snapshot, reading.sentAt < snapshot.sentAt { return [] }
        snapshot = reading
        lastPollFailure = nil
        // Without a list, every bound lease counts on top of `active` and no ended session is credited.
        listedCounted = []
        listedQueued = []
        for session in reading.sessions ?? [] {
            // A partial reading (status reads, the list refused) holds only tracked sessions, so `max(A, listed)`
            // no longer covers a session `active` lags on (U3): one read running counts as in `active` only once it
            // was bound `activeLagAllowance` before the quota request; a younger one stays on top of it.
            if !reading.sessionsComplete, let id = bySession[session.id], let boundAt = leases[id]?.boundAt,
                boundAt.advanced(by: settings.activeLagAllowance) > reading.sentAt
            {
                continue
            }
            if session.status == .queued {
                listedQueued.insert(session.id)
            } else {
                listedCounted.insert(session.id)
            }
        }
        // A terminated session the platform no longer lists is out of `active`: its credit ends. One that a reading
        // sent after the report still lists is non-terminal again (a message restarts a terminal session,
        // agp-api.md §10) or listed late (U3): either way `active` may count it, so the credit ends too.
        terminated = terminated.filter { session, ended in
            (listedCounted.contains(session) || listedQueued.contains(session)) && reading.sentAt <= ended.reportedAt
        }
        recountCredits()
        if let since = saturatedSince, reading.sentAt > since { saturatedSince = nil }
        var actions: [GatekeeperAction] = []
        for id in Array(endedCounting) {
            guard let after = leases[id]?.countsUntilSnapshotAfter else {
                endedCounting.remove(id)
                continue
            }
            if reading.sentAt > after {
                endedCounting.remove(id)
                // Not written to the ledger: a lease restored with the mark counts only until the first reading
                // after the restart, which is sent after the mark. Writing every such lease at each poll made a
                // busy minute's ended leases one long transaction in front of the next request.
                leases[id]?.countsUntilSnapshotAfter = nil
            }
        }
        for session in reading.sessions ?? [] where bySession[session.id] != nil {
            sessionReadAt[session.id] = reading.sentAt
        }
        // A partial reading (the list refused, status reads standing in) says nothing of the sessions it leaves out.
        if reading.sessions != nil, reading.sessionsComplete {
            actions += confirmMissingSessions(sentAt: reading.sentAt, now: now)
        }
        actions += grantWhilePossible(now: now)
        return actions
    }

    /// Whether the newest reading's `active` surely counts a session: the quota is read first, at `sentAt`, and the
    /// list after it. A session bound before `sentAt` existed when the quota was read, and one the later list still
    /// shows had not ended by then. A session bound later, or missing from the list, may not be in `active`.
    func countedInActive(_ session: String, boundAt: Timestamp) -> Bool {
        guard let snapshot, boundAt <= snapshot.sentAt else { return false }
        return listedCounted.contains(session) || listedQueued.contains(session)
    }

    /// How many credits the newest reading's `active` surely counted.
    mutating func recountCredits() {
        terminatedListed = terminated.filter { countedInActive($0.key, boundAt: $0.value.boundAt) }.count
    }

    /// Bound sessions missing from a list sent after they were bound are confirmed with one status read each,
    /// at most once per backoff step (a session the platform lags on, or lists under another owner, is not
    /// asked about at every poll).
    private mutating func confirmMissingSessions(sentAt: Timestamp, now: Timestamp) -> [GatekeeperAction] {
        var actions: [GatekeeperAction] = []
        for (session, id) in bySession {
            guard let lease = leases[id], let boundAt = lease.boundAt, boundAt < sentAt,
                !listedCounted.contains(session), !listedQueued.contains(session), terminated[session] == nil
            else { continue }
            let previous = confirmations[session]
            if let previous {
                let backoff = Duration.seconds(min(60, 1 << min(previous.attempts, 6)))
                if previous.askedAt.duration(to: now) < backoff { continue }
            }
            confirmations[session] = Confirmation(askedAt: now, attempts: (previous?.attempts ?? 0) + 1)
            actions.append(.upstream(.confirmSession(session)))
        }
        return actions
    }

    /// A session's status as the platform reported it; nil means 404 (the platform does not know it).
    /// - Parameters:
    ///   - session: the session id.
    ///   - status: its status, or nil.
    ///   - at: when the request was sent.
    ///   - now: the current time.
    public mutating func observeSession(_ session: String, status: SessionStatus?, at: Timestamp, now: Timestamp) -> [GatekeeperAction] {
        if bySession[session] != nil { sessionReadAt[session] = max(sessionReadAt[session] ?? at, at) }
        guard status?.isTerminal ?? true else {
            // Running again after it was reported terminal (restarted by a message): `active` counts it again.
            if let ended = terminated[session], at > ended.reportedAt {
                terminated[session] = nil
                recountCredits()
            }
            return []
        }
        confirmations[session] = nil
        var actions: [GatekeeperAction] = []
        if let id = bySession[session], var lease = leases[id], lease.state == .bound || lease.state == .draining {
            let boundAt = lease.boundAt ?? now
            if terminated.updateValue(EndedSession(boundAt: boundAt, reportedAt: at), forKey: session) == nil,
                countedInActive(session, boundAt: boundAt)
            {
                terminatedListed += 1
            }
            try? lease.sessionEnded(at: now)
            actions += store(lease)
        }
        actions += grantWhilePossible(now: now)
        return actions
    }

    /// A reading of the token allowance. A null `used` keeps the last known figures of the same window (U10).
    /// - Parameters:
    ///   - reading: the reading.
    ///   - now: the current time.
    public mutating func observeTokens(_ reading: TokenReading, now: Timestamp) -> [GatekeeperAction] {
        var reading = reading
        if reading.used == nil, reading.limit != nil, let previous = tokens, previous.windowStart == reading.windowStart {
            reading.used = previous.used
            reading.remaining = reading.remaining ?? previous.remaining
        }
        tokens = reading
        return grantWhilePossible(now: now)
    }

    /// A poll failed after its retries; grants go on with the last reading until it is too old.
    /// - Parameters:
    ///   - reason: one sentence, with no secret in it.
    ///   - now: the current time.
    public mutating func observePollFailure(_ reason: String, now: Timestamp) {
        lastPollFailure = reason
    }

    // MARK: Time, config, shutdown

    /// Expires unbound leases past their expiry, answers waiters whose wait ran out, forgets ended leases past
    /// their retention, and grants what became possible (a token window's reset).
    /// - Parameter now: the current time.
    public mutating func tick(now: Timestamp) -> [GatekeeperAction] {
        var actions: [GatekeeperAction] = []
        while let first = expiries.min, first.expiresAt <= now {
            _ = expiries.popMin()
            guard var lease = leases[first.id], lease.state == .granted, lease.expiresAt == first.expiresAt else { continue }
            if createUnsettled(lease, now: now) {
                // A create sent with this lease has not settled: the platform may still commit it, so the lease
                // lives on (design.md "Slot accounting"). Its host settles it; a gone host's lease expires.
                lease.expiresAt = now.advanced(by: lease.claimTTL)
            } else {
                try? lease.expire(at: now)
            }
            actions += store(lease)
        }
        let expired = queue.popExpired(now: now)
        for waiter in expired {
            actions.append(.fail(waiter.lease.id, .waitTimeout))
        }
        if !expired.isEmpty { actions.append(.queueChanged) }
        while let first = history.first {
            guard let lease = leases[first] else {
                history.removeFirst()
                continue
            }
            guard let ended = lease.releasedAt, ended.duration(to: now) >= settings.endedRetention, !endedCounting.contains(first) else { break }
            history.removeFirst()
            leases[first] = nil
            if let session = lease.sessionID, sessionOwners[session]?.lease == first { sessionOwners[session] = nil }
            actions.append(.forget(first))
        }
        actions += grantWhilePossible(now: now)
        return actions
    }

    /// New settings (a reload). Leases keep their expiry; waiters stay; a higher limit grants at once.
    /// - Parameters:
    ///   - settings: the new settings.
    ///   - now: the current time.
    public mutating func configure(_ settings: GatekeeperSettings, now: Timestamp) -> [GatekeeperAction] {
        self.settings = settings
        return grantWhilePossible(now: now)
    }

    /// Stops taking requests and answers every waiter `shutting_down`. Leases are kept.
    public mutating func shutdown() -> [GatekeeperAction] {
        phase = .shuttingDown
        let waiters = queue.removeAll()
        return waiters.map { .fail($0.lease.id, .shuttingDown) } + (waiters.isEmpty ? [] : [.queueChanged])
    }

    // MARK: Restoring

    /// Restores a lease read back from the store after a restart. Every restored lease counts as not yet seen
    /// by the platform until a reading sent after `now`.
    /// - Parameters:
    ///   - lease: the stored lease.
    ///   - now: the start time.
    public mutating func restore(_ lease: Lease, now: Timestamp) {
        var lease = lease
        guard lease.state != .waiting else { return }
        if lease.state == .bound || lease.state == .draining {
            lease.boundAt = max(lease.boundAt ?? now, now)
        }
        if lease.state.isEnded, lease.countsUntilSnapshotAfter != nil {
            lease.countsUntilSnapshotAfter = max(lease.countsUntilSnapshotAfter ?? now, now)
        }
        // A granted lease whose create had not settled keeps its mark: the task that settled it died with the last
        // run, so the mark only ages, and the lease lives until ``createSettleBound`` after its last attempt; then it
        // expires and counts until a reading sent after that, which counts the session if the create was committed.
        _ = store(lease)
    }

    /// Undoes a decision on one lease whose write failed, so that memory never runs ahead of the ledger: a
    /// retried bind then binds and writes again instead of answering a no-op. Nothing happens when the lease has
    /// changed since the decision (another decision already moved it on).
    /// - Parameters:
    ///   - changed: the lease as the failed decision left it.
    ///   - previous: the lease as it was before.
    /// - Returns: whether the lease was put back.
    public mutating func revert(_ changed: Lease, to previous: Lease) -> Bool {
        guard leases[changed.id] == changed, previous != changed else { return false }
        if let session = changed.sessionID, previous.sessionID != session, bySession[session] == changed.id {
            bySession[session] = nil
            confirmations[session] = nil
        }
        if let session = changed.sessionID, previous.sessionID != session, sessionOwners[session]?.lease == changed.id {
            sessionOwners[session] = nil
        }
        if changed.state.isEnded, !previous.state.isEnded {
            endedCounting.remove(changed.id)
            history.removeAll { $0 == changed.id }
        }
        _ = store(previous)
        return true
    }

    // MARK: Internals

    /// Records a lease's new state and keeps every index in step. Returns the persist action.
    mutating func store(_ lease: Lease) -> [GatekeeperAction] {
        let previous = leases[lease.id]
        leases[lease.id] = lease
        if lease.state != .granted { grantedPlaces[lease.id] = nil }
        let wasLive = previous?.state.holdsSlot ?? false
        if lease.state.holdsSlot, !wasLive {
            live.insert(lease.id)
            changeHeld(lease.holderKey, by: 1)
        } else if !lease.state.holdsSlot, wasLive {
            live.remove(lease.id)
            changeHeld(lease.holderKey, by: -1)
        }
        if let session = lease.sessionID, lease.host == host, sessionOwners[session] == nil {
            sessionOwners[session] = (lease.uid, lease.id)
        }
        if let session = lease.sessionID {
            if lease.state.holdsSlot {
                bySession[session] = lease.id
            } else if bySession[session] == lease.id {
                bySession[session] = nil
                confirmations[session] = nil
                sessionReadAt[session] = nil
            }
        }
        if lease.state == .granted, let expiresAt = lease.expiresAt, previous?.expiresAt != expiresAt {
            expiries.insert(ExpiryEntry(expiresAt: expiresAt, id: lease.id))
        }
        if lease.state.isEnded, previous?.state.isEnded != true {
            history.append(lease.id)
            estimator.record(ended: lease)
            if lease.countsUntilSnapshotAfter != nil { endedCounting.insert(lease.id) }
        }
        return [.persist(lease)]
    }

    private mutating func changeHeld(_ holder: HolderKey, by delta: Int) {
        let count = heldPerHolder[holder, default: 0] + delta
        heldPerHolder[holder] = count > 0 ? count : nil
        let uidCount = heldPerUID[holder.uid, default: 0] + delta
        heldPerUID[holder.uid] = uidCount > 0 ? uidCount : nil
        queue.setHeld(max(0, count), for: holder)
    }

    private mutating func grant(_ waiting: Lease, now: Timestamp, place: Int64? = nil) -> [GatekeeperAction] {
        var lease = waiting
        do {
            try lease.grant(at: now)
        } catch {
            return [.fail(lease.id, error)]
        }
        grantsTotal += 1
        if let place { grantedPlaces[lease.id] = place }
        var actions = store(lease)
        actions.append(.grant(lease))
        return actions
    }

    /// Grants waiters in order while a slot is free and nothing pauses grants.
    mutating func grantWhilePossible(now: Timestamp) -> [GatekeeperAction] {
        guard !queue.isEmpty, pause(at: now) == nil else { return [] }
        var free = count(at: now).free
        var actions: [GatekeeperAction] = []
        while free > 0, let waiter = queue.popFirst() {
            actions += grant(waiter.lease, now: now, place: waiter.sequence)
            free -= 1
        }
        if !actions.isEmpty { actions.append(.queueChanged) }
        return actions
    }
}

extension GatekeeperStateMachine {
    /// The slot count of design.md "Slot accounting":
    ///
    ///     in_use = max(A, non-terminal sessions listed) (+ queued sessions listed, U2)
    ///            + leases granted and not yet bound
    ///            + bound leases that A may not count: bound after the quota was read, or missing from the list
    ///              read after it
    ///            + ended unbound leases until a reading sent after they ended (creates with no answer included)
    ///            − sessions A surely counted that the platform has since reported terminal
    ///     free   = max(0, min(L, slots.max) − slots.reserve − in_use)
    ///
    /// After a create met 429, every slot counts as taken until a reading sent after it.
    /// - Parameter now: the current time.
    public func count(at now: Timestamp) -> SlotCount {
        guard let snapshot else {
            return SlotCount(limit: 0, reserved: settings.reserve, inUse: 0, free: 0, heldByLeases: live.count)
        }
        let limit = min(snapshot.quota.limit, settings.slotsMax ?? Int.max)
        // `active` may lag the list (U3): a session the list shows may not be in `active` yet. The base is the larger
        // of the two, so every listed session is in it, and a tracked session counts as covered when it is listed.
        var inUse = max(snapshot.quota.active, listedCounted.count) + listedQueued.count
        for id in live {
            guard let lease = leases[id] else { continue }
            switch lease.state {
            case .granted:
                inUse += 1
            case .bound, .draining:
                guard let session = lease.sessionID else { continue }
                // A listed `queued` session is already counted through `listedQueued`.
                if listedQueued.contains(session) { continue }
                if !countedInActive(session, boundAt: lease.boundAt ?? snapshot.sentAt) { inUse += 1 }
            case .waiting, .released, .expired:
                continue
            }
        }
        inUse += endedCounting.count
        inUse -= terminatedListed
        inUse = max(0, inUse)
        if saturatedSince != nil { inUse = max(inUse, limit) }
        var free = max(0, limit - settings.reserve - inUse)
        // The shares are meant to add up to at most the limit; a host that did not see every member before the
        // outage may know a smaller sum, so the limit bounds it from below.
        if let split = settings.roomShare { free = free * max(0, split.share) / max(1, split.total, limit) }
        if let maxHeld = settings.maxHeld { free = min(free, max(0, maxHeld - live.count)) }
        return SlotCount(limit: max(0, limit), reserved: settings.reserve, inUse: inUse, free: free, heldByLeases: live.count)
    }
}

/// The count `/v1/status` shows under `slots`.
public struct SlotCount: Sendable, Hashable {
    /// The limit in force: the platform's, capped by `slots.max`; 0 before the first reading.
    public var limit: Int
    /// `slots.reserve`.
    public var reserved: Int
    /// The conservative count of occupied slots.
    public var inUse: Int
    /// `max(0, limit - reserved - inUse)`.
    public var free: Int
    /// This daemon's leases in granted, bound or draining.
    public var heldByLeases: Int
    /// Occupied by sessions no lease holds.
    public var external: Int { max(0, inUse - heldByLeases) }

    /// Creates a count.
    /// - Parameters:
    ///   - limit: the limit in force.
    ///   - reserved: `slots.reserve`.
    ///   - inUse: occupied slots.
    ///   - free: free slots.
    ///   - heldByLeases: leases holding slots.
    public init(limit: Int, reserved: Int, inUse: Int, free: Int, heldByLeases: Int) {
        self.limit = limit
        self.reserved = reserved
        self.inUse = inUse
        self.free = free
        self.heldByLeases = heldByLeases
    }
}

/// A session the platform reported terminal while the newest reading may still count it in `active`.
public struct EndedSession: Sendable, Hashable {
    /// When its lease was bound: the session existed from then on.
    public var boundAt: Timestamp
    /// When the request that reported it terminal was sent; a reading sent later that still lists the session
    /// ends the credit.
    public var reportedAt: Timestamp

    /// Creates a credit.
    /// - Parameters:
    ///   - boundAt: when its lease was bound.
    ///   - reportedAt: when the report was sent.
    public init(boundAt: Timestamp, reportedAt: Timestamp) {
        self.boundAt = boundAt
        self.reportedAt = reportedAt
    }
}
