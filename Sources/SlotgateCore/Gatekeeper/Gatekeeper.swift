//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import ServiceLifecycle

/// A clock whose instants are wall-clock `Timestamp`s: `WallClock` in production, a manual clock in tests.
public protocol TimestampClock: Clock, Sendable where Instant == Timestamp, Duration == Swift.Duration {}

extension WallClock: TimestampClock {}

/// Where the gatekeeper writes leases so that they survive a restart (design.md invariant 4).
public protocol LeasePersistence: Sendable {
    /// Writes leases' new states. A write with a grant, bind or renewal in it returns only once it is committed
    /// (on disk, or with the embedded ledger's default `state.fsync: false` in the operating system); one that
    /// only ends leases may be committed after it returns (the embedded ledger holds those for its next commit,
    /// 100 ms at most).
    /// - Parameter leases: the leases to write.
    func write(_ leases: [Lease]) async throws
    /// Forgets ended leases past their retention, and requests sent back to the queue.
    /// - Parameter ids: the lease ids.
    func forget(_ ids: [LeaseID]) async throws
}

/// Reads and cancels one session on the platform, for a release that should not wait for the next poll.
public protocol SessionProbe: Sendable {
    /// `GET /sessions/{id}/status`; nil on 404.
    /// - Parameter id: the session id.
    func sessionStatus(id: String) async throws -> SessionStatus?
    /// `DELETE /sessions/{id}`; false on 404.
    /// - Parameter id: the session id.
    func cancelSession(id: String) async throws -> Bool
}

/// The gatekeeper: the one actor that owns the state machine, the waiting requests' continuations and the
/// timer. It carries out the machine's actions: writes before answering a grant, answers waiters, and hands
/// platform work to the poller through `upstreamWork`.
public actor Gatekeeper: PlatformObserver, Service {
    /// The decisions.
    private var machine: GatekeeperStateMachine
    /// Requests parked until their lease is granted or fails.
    private var parked: [LeaseID: Parked] = [:]
    /// The state last logged at info for each live lease of this host (``logLifecycle(_:)``).
    private var loggedStates: [LeaseID: LeaseState] = [:]
    /// Requests between their acquire and their parking.
    private var unparked: Set<LeaseID> = []
    /// Outcomes that arrived before their request parked.
    private var early: [LeaseID: Result<Lease, GatekeeperError>] = [:]
    /// Requests cancelled before their continuation was parked (the cancellation handler ran first).
    private var cancelledEarly: Set<LeaseID> = []
    /// The run loop's sleep, woken early when an earlier deadline appears.
    private var sleeper: CheckedContinuation<Void, Never>?
    /// A wake-up that arrived while the loop was not asleep.
    private var wakePending = false
    /// The deadline the timer loop sleeps until; nil while it sleeps without one or is awake.
    private var sleepDeadline: Timestamp?
    /// Bumped whenever waiters' positions may have changed.
    private var queueVersion: UInt64 = 0
    private var queueWatchers: [UInt64: CheckedContinuation<UInt64, Never>] = [:]
    private var nextWatcher: UInt64 = 0
    /// The pace last told to the poller.
    private var lastPace = PollingPace.idle
    /// Waiters' positions and estimated grant times, computed at most once per queue version and second.
    private var forecast: Forecast?
    private let clock: any TimestampClock
    private let persistence: (any LeasePersistence)?
    /// Shared mode: the fleet's state lives here and every decision is a transaction on it; nil in local mode.
    private let shared: (any SharedStateStore)?
    /// This host's name.
    private let host: String
    /// Shared mode: whether this host polls the platform for the fleet (its poller consumes `upstreamWork`).
    private var isPoller = false
    /// Shared mode: this host stopped taking requests.
    private var stopping = false
    /// Shared mode: the work stream goes to this host's own poller during a database outage.
    private var fallbackPolling = false
    /// Shared mode: requests whose client went away and whose grant may still arrive from another host.
    private var departed: Set<LeaseID> = []
    /// Shared mode: whether the fleet's database answered the last heartbeat.
    private var databaseReachable = true
    /// Shared mode: when the database last answered.
    private var databaseAnsweredAt: Timestamp
    /// Shared mode: this host's settings (decisions apply them to the fleet's state).
    private var baseSettings: GatekeeperSettings
    /// Shared mode: `shared.fallback_share`.
    private let fallbackShare: Int
    /// Shared mode: the fleet's members as last read.
    private var members: FleetMembers?
    /// Shared mode: set while the database is away and this host decides alone, within its fallback share.
    private var fallback: (since: Timestamp, allowance: Int)?
    /// Shared mode: seeds lease ids of decisions made here.
    private var seeds: SplitMix64
    private let probe: (any SessionProbe)?
    private let logger: Logger
    private var workContinuation: AsyncStream<UpstreamWork>.Continuation
    /// Shared mode: the version of the fleet state `machine` was rebuilt from.
    private var sharedVersion: Int64 = -1
    /// Shared mode: a re-read of the fleet's state is running, and whether another was asked for meanwhile.
    private var refreshing = (running: false, again: false)
    /// Called by the timer loop on every turn and at least every `interval` (a service manager's watchdog).
    private var heartbeat: (interval: Duration, beat: @Sendable () -> Void)?

    /// Shared mode: how long `/v1/status` waits for the fleet's state before it shows what this host last knew (long
    /// enough for a loaded machine, short of the store's own 5 s timeout).
    static let statusPatience = Duration.seconds(2)

    /// Shared mode: the longest time between two looks at the fleet's state.
    static let sharedTickInterval = Duration.seconds(1)

    /// Platform work for the poller: poll now, confirm a session, cancel a session.
    public nonisolated let upstreamWork: AsyncStream<UpstreamWork>

    /// Creates the gatekeeper. It takes requests at once; `run()` only hosts its timer.
    /// - Parameters:
    ///   - settings: the settings in force.
    ///   - host: this host's name.
    ///   - clock: the clock.
    ///   - persistence: where leases are written before grants are answered; nil keeps them in memory only.
    ///   - restoring: leases read back from the store at start.
    ///   - probe: reads a released lease's session once before the release is answered; nil leaves it to the poller.
    ///   - logger: the logger.
    ///   - seed: seeds lease ids; nil seeds from the system.
    ///   - shared: shared mode's store of the fleet's state; nil for local mode.
    public init(
        settings: GatekeeperSettings,
        host: String,
        clock: any TimestampClock = WallClock(),
        persistence: (any LeasePersistence)? = nil,
        restoring: [Lease] = [],
        probe: (any SessionProbe)? = nil,
        logger: Logger,
        seed: UInt64? = nil,
        shared: (any SharedStateStore)? = nil,
        fallbackShare: Int = 0
    ) {
        var machine = GatekeeperStateMachine(settings: settings, host: host, seed: seed)
        let now = clock.now
        for lease in restoring { machine.restore(lease, now: now) }
        // Restored leases were logged by the daemon that granted them; only their next step is news.
        for lease in restoring where lease.state.holdsSlot { loggedStates[lease.id] = lease.state }
        self.machine = machine
        self.clock = clock
        self.persistence = persistence
        self.shared = shared
        self.host = host
        self.baseSettings = settings
        self.fallbackShare = fallbackShare
        self.databaseAnsweredAt = now
        self.seeds = seed.map { SplitMix64(seed: $0 ^ 0x5EED) } ?? SplitMix64()
        self.probe = probe
        self.logger = logger
        (self.upstreamWork, self.workContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    // MARK: Requests

    /// Takes a slot, waiting in the queue if needed. Cancelling the calling task (a client that went away)
    /// removes the request from the queue.
    /// - Parameter request: the request.
    /// - Returns: the granted lease, or the reason there is none.
    public func acquire(_ request: AcquireRequest) async -> Result<Lease, GatekeeperError> {
        await outcome(of: submit(request))
    }

    /// Queues a request and returns its lease id at once; `outcome(of:)` then waits for the grant or the error.
    /// Used by streamed waits, which report the request's position while it waits.
    /// - Parameter request: the request.
    public func submit(_ request: AcquireRequest) async -> LeaseID {
        if stopping {
            let id = LeaseID(time: clock.now, random: &seeds)
            early[id] = .failure(.shuttingDown)
            unparked.insert(id)
            return id
        }
        let decided = await decide(naming: []) { machine, now in .success(machine.acquire(request, now: now)) }
        guard case .success(let (id, actions)) = decided else {
            // The fleet's database did not answer: the request cannot be queued.
            let id = LeaseID(time: clock.now, random: &seeds)
            early[id] = .failure(.stateUnwritable)
            unparked.insert(id)
            return id
        }
        unparked.insert(id)
        await execute(actions)
        return id
    }

    /// Waits for the outcome of a request queued with `submit`. Cancelling the calling task removes the request.
    /// - Parameter id: the id `submit` returned.
    public func outcome(of id: LeaseID) async -> Result<Lease, GatekeeperError> {
        await park(id)
    }

    /// Queues a request and hands its outcome to `whenDecided`, once, instead of keeping a task suspended until
    /// then: a connection handler parks its client's request this way and keeps no task while it waits. The
    /// callback runs on the actor: it must only pass the outcome on (to an event loop). A client that goes away
    /// withdraws the request with ``withdraw(request:)``; a grant it can no longer deliver goes back through
    /// ``undeliverable(_:)``.
    /// - Parameters:
    ///   - request: the request.
    ///   - whenDecided: receives the granted lease or the reason there is none.
    /// - Returns: the request's lease id.
    public func submit(
        _ request: AcquireRequest,
        whenDecided: @escaping @Sendable (Result<Lease, GatekeeperError>) -> Void
    ) async -> LeaseID {
        let id = await submit(request)
        unparked.remove(id)
        if let outcome = early.removeValue(forKey: id) {
            whenDecided(outcome)
        } else {
            parked[id] = .callback(whenDecided)
        }
        return id
    }

    /// Takes a request queued with ``submit(_:whenDecided:)`` out of the queue: its client went away. Its callback
    /// gets `wait_timeout` if it has had no outcome yet; a request already answered is left alone.
    /// - Parameter id: the request's lease id.
    public func withdraw(request id: LeaseID) async {
        await requestWentAway(id)
    }

    /// Parks the request `id` until its outcome; an outcome that arrived before the request parked is taken at once.
    private func park(_ id: LeaseID) async -> Result<Lease, GatekeeperError> {
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<Lease, GatekeeperError>, Never>) in
                unparked.remove(id)
                let wentAway = cancelledEarly.remove(id) != nil
                if let outcome = early.removeValue(forKey: id) {
                    continuation.resume(returning: outcome)
                } else if wentAway {
                    continuation.resume(returning: .failure(.waitTimeout))
                    Task { await self.withdraw(id) }
                } else {
                    parked[id] = .task(continuation)
                }
            }
        } onCancel: {
            // The handler is synchronous and outside the actor: hop onto it. If the request has not parked
            // yet, `requestWentAway` leaves a mark that `park` finds.
            Task { await self.requestWentAway(id) }
        }
        // A grant that reached a request whose client is gone cannot be used: the slot goes on at once.
        if Task.isCancelled, case .success(let lease) = outcome {
            await undeliverable(lease.id)
            return .failure(.waitTimeout)
        }
        return outcome
    }

    private func requestWentAway(_ id: LeaseID) async {
        if let waiting = parked.removeValue(forKey: id) {
            waiting.resume(.failure(.waitTimeout))
            await withdraw(id)
        } else if unparked.contains(id) {
            cancelledEarly.insert(id)
        }
    }

    /// Takes a request whose client went away out of the queue. In shared mode another host may have granted it
    /// meanwhile: the id is kept as departed until its grant arrives (and is given back) or the queue confirms
    /// it was still waiting.
    private func withdraw(_ id: LeaseID) async {
        if shared != nil { departed.insert(id) }
        let result = await decide(naming: []) { machine, _ in
            let (wasWaiting, actions) = machine.cancel(id)
            return .success((wasWaiting, actions))
        }
        if case .success(let (wasWaiting, actions)) = result {
            if wasWaiting { departed.remove(id) }
            await execute(actions)
        }
        if shared != nil, let lease = machine.lease(id), lease.state == .granted, departed.remove(id) != nil {
            // Granted before the withdrawal reached the fleet: nobody can use it.
            await undeliverable(id)
        }
    }

    /// A granted lease whose answer could not be written to the client: released at once, the slot goes on.
    /// - Parameter id: the lease id.
    public func undeliverable(_ id: LeaseID) async {
        await execute(decide(naming: [id]) { machine, now in .success(((), machine.undeliverable(id, now: now))) }.actionsOrEmpty)
    }

    /// Binds a granted lease to its platform session.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - session: the platform session id.
    public func bind(_ id: LeaseID, to session: String) async throws(GatekeeperError) -> Lease {
        let before = shared == nil ? machine.lease(id) : nil
        let (lease, actions) = try await decide(naming: [id]) { machine, now in
            Result { () throws(GatekeeperError) in try machine.bind(id, to: session, now: now) }
        }.get()
        try await executeDurably(actions, for: id, before: before)
        return lease
    }

    /// Renews a granted lease.
    /// - Parameter id: the lease id.
    public func renew(_ id: LeaseID) async throws(GatekeeperError) -> Lease {
        let before = shared == nil ? machine.lease(id) : nil
        let (lease, actions) = try await decide(naming: [id]) { machine, now in
            Result { () throws(GatekeeperError) in try machine.renew(id, now: now) }
        }.get()
        try await executeDurably(actions, for: id, before: before)
        return lease
    }

    /// Releases a lease (see `GatekeeperStateMachine.release`).
    /// - Parameters:
    ///   - id: the lease id.
    ///   - cancelSession: also cancel the session on the platform.
    public func release(_ id: LeaseID, cancelSession: Bool = false) async throws(GatekeeperError) -> Lease {
        let before = shared == nil ? machine.lease(id) : nil
        let (lease, actions) = try await decide(naming: [id]) { machine, now in
            Result { () throws(GatekeeperError) in try machine.release(id, cancelSession: cancelSession, now: now) }
        }.get()
        guard let probe, let session = lease.sessionID, lease.state == .draining else {
            try await executeDurably(actions, for: id, before: before)
            return shared == nil ? machine.lease(id) ?? lease : lease
        }
        // Read the session once here rather than through the poller, so a session that already ended frees
        // its slot before this answer (what keeps `slotgate run` near 100 % utilization).
        let mine: Set<UpstreamWork> = [.confirmSession(session), .cancelSession(session)]
        try await executeDurably(
            actions.filter {
                guard case .upstream(let work) = $0 else { return true }
                return !mine.contains(work)
            },
            for: id,
            before: before
        )
        let at = clock.now
        let observed: Result<(Lease?, [GatekeeperAction]), GatekeeperError>
        do {
            if cancelSession { _ = try await probe.cancelSession(id: session) }
            let status = try await probe.sessionStatus(id: session)
            observed = await decide(naming: [id]) { machine, now in
                let actions = machine.observeSession(session, status: status, at: at, now: now)
                return .success((machine.lease(id), actions))
            }
        } catch {
            // The platform cannot be reached: the lease stays draining and the (fleet's) poller settles it.
            let work: UpstreamWork = cancelSession ? .cancelSession(session) : .confirmSession(session)
            observed = await decide(naming: []) { _, _ in .success((nil, [.upstream(work)])) }
        }
        guard case .success(let (after, actions)) = observed else { return lease }
        await execute(actions)
        return after ?? lease
    }

    /// Answers at once; `/healthz` uses it to tell that the actor is not stuck.
    public func ping() -> Bool { true }

    /// Marks a granted lease as sending a create: it neither expires nor can be released until ``createOutcome(_:_:)``
    /// settles the create (see `GatekeeperStateMachine.beginCreate`).
    /// - Parameter id: the lease id.
    public func beginCreate(_ id: LeaseID) async throws(GatekeeperError) -> Lease {
        let before = shared == nil ? machine.lease(id) : nil
        let (lease, actions) = try await decide(naming: [id]) { machine, now in
            Result { () throws(GatekeeperError) in try machine.beginCreate(id, now: now) }
        }.get()
        try await executeDurably(actions, for: id, before: before)
        return lease
    }

    /// Records the outcome of a create made with a granted lease (the proxy).
    /// - Parameters:
    ///   - id: the lease id.
    ///   - outcome: the platform's answer.
    public func createOutcome(_ id: LeaseID, _ outcome: GatekeeperStateMachine.CreateOutcome) async throws(GatekeeperError) -> Lease {
        // A session the platform made exists whatever the ledger says: its bind stays in memory, so the count
        // tracks it, even when the write fails (the ledger's copy then expires and counts until a reading).
        let isCreated = if case .created = outcome { true } else { false }
        let before = shared == nil && !isCreated ? machine.lease(id) : nil
        let (lease, actions) = try await decide(naming: [id]) { machine, now in
            Result { () throws(GatekeeperError) in try machine.createOutcome(id, outcome, now: now) }
        }.get()
        try await executeDurably(actions, for: id, before: before)
        return lease
    }

    /// Waits for a lease sent back to the queue (after a 429) to be granted again.
    /// - Parameter id: the lease id.
    public func awaitRequeued(_ id: LeaseID) async -> Result<Lease, GatekeeperError> {
        // Expected before the look, so a grant that arrives meanwhile is kept rather than given back.
        unparked.insert(id)
        if let lease = await freshView(naming: [id]).lease(id), lease.state != .waiting {
            unparked.remove(id)
            early[id] = nil
            return lease.state == .granted ? .success(lease) : .failure(.leaseConflict(id, "the lease is \(lease.state.rawValue)"))
        }
        return await park(id)
    }

    /// A lease by id.
    /// - Parameter id: the lease id.
    public func lease(_ id: LeaseID) async -> Lease? { await freshView(naming: [id]).lease(id) }

    /// Every retained lease and the waiters in grant order.
    public func listing() async -> (leases: [Lease], waiters: [WaitQueue.Waiter]) {
        let view = await freshView(naming: [])
        guard let shared, fallback == nil, let ended = try? await shared.recentlyEnded(within: baseSettings.endedRetention) else {
            return (view.allLeases, view.waiters())
        }
        // Shared mode: the fleet's leases that ended lately are in the tables, not in the decision's view.
        var byID = Dictionary(ended.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for lease in view.allLeases { byID[lease.id] = lease }
        return (byID.values.sorted { $0.id < $1.id }, view.waiters())
    }

    /// A waiting request's position (1-based) in grant order, the number waiting and its estimated wait; nil when it
    /// does not wait.
    /// - Parameter id: the lease id.
    public func position(of id: LeaseID) -> WaitPosition? {
        guard machine.lease(id)?.state == .waiting else { return nil }
        let now = clock.now
        var forecast = currentForecast(now: now)
        if forecast.byID[id] == nil { forecast = currentForecast(now: now, fresh: true) }
        guard let index = forecast.byID[id] else { return nil }
        let entry = forecast.order[index]
        return WaitPosition(position: index + 1, waiting: forecast.order.count, eta: entry.grantAt.map { max(.zero, now.duration(to: $0)) })
    }

    /// The waiters in grant order with their estimated grant times, computed once per queue version (and once a
    /// second, as held slots age), so many streamed waits and status reads cost one O(n log n) pass per change.
    private func currentForecast(now: Timestamp, fresh: Bool = false) -> Forecast {
        if !fresh, let forecast, forecast.version == queueVersion, forecast.order.count == machine.waitingCount, forecast.at <= now,
            forecast.at.duration(to: now) < Self.forecastRefresh
        {
            return forecast
        }
        var computed = Forecast(version: queueVersion, at: now)
        for (index, entry) in machine.forecast(now: now).enumerated() {
            computed.order.append((entry.waiter.lease.priority, entry.grantAt))
            computed.byID[entry.waiter.lease.id] = index
        }
        forecast = computed
        return computed
    }

    /// How often waiters' estimates are recomputed while the queue does not change.
    static let forecastRefresh = Duration.seconds(1)

    /// Waits until the queue changes after `version`, then returns the new version; returns at once when the
    /// calling task is cancelled.
    /// - Parameter version: the version the caller has seen.
    public func queueChange(after version: UInt64) async -> UInt64 {
        if queueVersion != version || Task.isCancelled { return queueVersion }
        nextWatcher &+= 1
        let token = nextWatcher
        return await withTaskCancellationHandler {
            await withCheckedContinuation { queueWatchers[token] = $0 }
        } onCancel: {
            Task { await self.dropWatcher(token) }
        }
    }

    private func dropWatcher(_ token: UInt64) {
        queueWatchers.removeValue(forKey: token)?.resume(returning: queueVersion)
    }

    /// The current queue version.
    public var currentQueueVersion: UInt64 { queueVersion }

    /// The state for `/v1/status`.
    public func status() async -> GatekeeperStatus {
        // Answers at once during a database outage (design.md "Shared mode"): the view is the database's if it answers
        // within `statusPatience`, else what this host last knew; the members are the heartbeat's.
        let view = await freshView(naming: [], within: Self.statusPatience)
        let now = clock.now
        var status = GatekeeperStatus(machine: view, now: now)
        status.priorities = PriorityWait.levels(currentForecast(now: now).order, now: now)
        guard shared != nil else { return status }
        if stopping { status.pausedBy = .shuttingDown }
        var hosts: [String: FleetStatus.Host] = [:]
        func entry(_ name: String) -> FleetStatus.Host { hosts[name] ?? FleetStatus.Host(hostID: name, held: 0, waiting: 0, seenAgo: .zero) }
        for lease in view.liveLeases { hosts[lease.host] = modify(entry(lease.host)) { $0.held += 1 } }
        for waiter in view.waiters() { hosts[waiter.lease.host] = modify(entry(waiter.lease.host)) { $0.waiting += 1 } }
        let members = self.members
        for (name, seenAgo) in members?.seen ?? [:] { hosts[name] = modify(entry(name)) { $0.seenAgo = seenAgo } }
        status.fleet = FleetStatus(
            hostID: host,
            poller: fallback == nil && databaseReachable ? members?.poller : nil,
            databaseReachable: fallback == nil && databaseReachable,
            fallbackInUse: fallback == nil ? 0 : view.liveLeases.count,
            hosts: hosts.values.sorted { $0.hostID < $1.hostID }
        )
        return status
    }

    /// Applies new settings (a reload).
    /// - Parameter settings: the new settings.
    public func configure(_ settings: GatekeeperSettings) async {
        if shared != nil {
            // Each decision rebuilds the machine with this host's settings; take them for the next one.
            baseSettings = settings
            if fallback != nil { return }
        }
        await execute(decide(naming: []) { machine, now in .success(((), machine.configure(settings, now: now))) }.actionsOrEmpty)
        wake()
    }

    /// Stops taking requests: every waiter is answered `shutting_down`.
    public func shutdown() async {
        if shared != nil {
            stopping = true
            await execute(decide(naming: []) { machine, _ in .success(((), machine.withdrawOwnWaiters())) }.actionsOrEmpty)
        } else {
            await execute(machine.shutdown())
        }
        workContinuation.finish()
        wake(force: true)
    }

    // MARK: PlatformObserver

    public func pollingPace() -> PollingPace { machine.pollingPace }

    public func needsSessionList() -> Bool { machine.needsSessionList }

    public func sessionsToRead(limit: Int) -> [String] { machine.sessionsToRead(limit: limit) }

    /// The uids that created these sessions through leases of this host; sessions it does not know are left out.
    /// - Parameter sessions: platform session ids.
    public func sessionOwners(_ sessions: some Sequence<String> & Sendable) -> [String: UInt32] {
        var owners: [String: UInt32] = [:]
        for session in sessions {
            if let uid = machine.sessionOwner(session) { owners[session] = uid }
        }
        return owners
    }

    public func observe(_ snapshot: PlatformSnapshot) async {
        let clock = self.clock
        await execute(
            decide(naming: []) { machine, now in
                var reading = snapshot
                reading.sentAt = Self.databaseTime(of: snapshot.sentAt, now: now, clock: clock)
                return .success(((), machine.observe(reading, now: now)))
            }.actionsOrEmpty
        )
        wake()
    }

    /// A time this host took (a request's send time), on the clock decisions run on: in shared mode the database's.
    ///
    /// `now` is the database's clock read inside the decision's transaction, after the fleet's lock, and this
    /// host's clock is read here, after that; so `now - local` is at most the true offset between the two clocks,
    /// and the time comes out no later than it really was (issue 12, hole 5). Measuring the offset before the
    /// transaction instead added the wait for the lock, and moved "sent at" later: the unsafe direction for
    /// "bound before the quota read", for ending the count of ended leases and for clearing the 429 mark. In local
    /// mode both clocks are one and nothing moves.
    static func databaseTime(of time: Timestamp, now: Timestamp, clock: any TimestampClock) -> Timestamp {
        time.advanced(by: clock.now.duration(to: now))
    }

    /// The platform answered 429 to a forwarded request other than a create (see
    /// `GatekeeperStateMachine.platformRefused(now:)`): no grant until a reading sent after it.
    public func platformRefused() async {
        await execute(decide(naming: []) { machine, now in .success(((), machine.platformRefused(now: now))) }.actionsOrEmpty)
        wake()
    }

    public func observeTokens(_ reading: TokenReading) async {
        await execute(decide(naming: []) { machine, now in .success(((), machine.observeTokens(reading, now: now))) }.actionsOrEmpty)
        wake()
    }

    public func observePollFailure(_ reason: String, at: Timestamp) async {
        await execute(
            decide(naming: []) { machine, now in
                machine.observePollFailure(reason, now: now)
                return .success(((), []))
            }.actionsOrEmpty
        )
    }

    public func observeSession(_ id: String, status: SessionStatus?, at: Timestamp) async {
        let clock = self.clock
        await execute(
            decide(naming: []) { machine, now in
                let sentAt = Self.databaseTime(of: at, now: now, clock: clock)
                return .success(((), machine.observeSession(id, status: status, at: sentAt, now: now)))
            }.actionsOrEmpty
        )
    }

    // MARK: Service

    /// Hosts the timer (expiries, waiters' deadlines, retention) until graceful shutdown, then answers every
    /// waiter `shutting_down`.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await gracefulShutdown()
                await self.shutdown()
            }
            group.addTask { await self.timerLoop() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sets the heartbeat: `beat` runs on every turn of the timer loop and at least every `interval`, so it stops
    /// when the gatekeeper is stuck. Set it before `run()`; the daemon pings systemd's watchdog with it.
    /// - Parameters:
    ///   - interval: the longest time between beats.
    ///   - beat: what to do on each beat; it must return quickly.
    public func setHeartbeat(interval: Duration, beat: @escaping @Sendable () -> Void) {
        heartbeat = (interval, beat)
        wake(force: true)
    }

    private func timerLoop() async {
        var lastSharedTick = Timestamp.distantPast
        while !Task.isCancelled, !stopping, machine.pause(at: clock.now) != .shuttingDown {
            if shared == nil {
                await execute(machine.tick(now: clock.now))
            } else if machine.nextDeadline(now: clock.now).map({ $0 <= clock.now }) ?? false
                || lastSharedTick.duration(to: clock.now) >= Self.sharedTickInterval
            {
                // Shared mode: a transaction when something is due, and every second to catch what notices missed.
                lastSharedTick = clock.now
                await execute(decide(naming: []) { machine, now in .success(((), machine.sharedTick(now: now))) }.actionsOrEmpty)
                if fallback == nil { await settleParked() }
            }
            heartbeat?.beat()
            var deadline = machine.nextDeadline(now: clock.now)
            if shared != nil {
                let next = lastSharedTick.advanced(by: Self.sharedTickInterval)
                deadline = min(deadline ?? next, next)
            }
            if let heartbeat {
                let beatAt = clock.now.advanced(by: heartbeat.interval)
                deadline = min(deadline ?? beatAt, beatAt)
            }
            await sleep(until: deadline)
        }
    }

    /// Sleeps until the deadline or an earlier wake-up, whichever comes first.
    private func sleep(until deadline: Timestamp?) async {
        let clock = self.clock
        sleepDeadline = deadline
        defer { sleepDeadline = nil }
        await withTaskGroup(of: Bool.self) { group in
            if let deadline {
                group.addTask {
                    try? await clock.sleep(until: deadline, tolerance: nil)
                    return false
                }
            }
            group.addTask {
                await self.waitForWake()
                return true
            }
            let woken = await group.next() ?? true
            group.cancelAll()
            // The deadline came first: release the wake-up child, which otherwise waits forever.
            if !woken { wake(force: true) }
        }
    }

    private func waitForWake() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            if wakePending {
                wakePending = false
                continuation.resume()
            } else {
                sleeper = continuation
            }
        }
    }

    /// Wakes the timer loop so it recomputes its deadline, unless it sleeps until a deadline no later than the
    /// machine's next one (most requests change nothing the loop waits for). Each turn starts a sleep whose timer
    /// stays armed until its deadline even once cancelled, so waking it for nothing on every request would pile
    /// up timers, one per request still waiting. `force` wakes it whatever the deadlines.
    private func wake(force: Bool = false) {
        if let sleeper {
            if !force, shared == nil, !stopping, let sleepDeadline,
                machine.nextDeadline(now: clock.now).map({ $0 >= sleepDeadline }) ?? true
            {
                return
            }
            self.sleeper = nil
            sleeper.resume()
        } else {
            wakePending = true
        }
    }

    // MARK: Carrying out actions

    /// Carries out actions in order. Grants are written before they are answered; a grant that cannot be written
    /// is taken back and its request answered `state_unwritable`, so nothing is answered that was not written.
    private func execute(_ actions: [GatekeeperAction]) async {
        defer { notePaceChange() }
        guard !actions.isEmpty else { return }
        var writes: [Lease] = []
        var forgets: [LeaseID] = []
        var grants: [Lease] = []
        var failures: [(LeaseID, GatekeeperError)] = []
        var queueChanged = false
        for action in actions {
            switch action {
            case .grant(let lease): grants.append(lease)
            case .fail(let id, let error): failures.append((id, error))
            case .persist(let lease): writes.append(lease)
            case .forget(let id): forgets.append(id)
            case .upstream(let work): if shared == nil || isPoller { workContinuation.yield(work) }
            case .queueChanged: queueChanged = true
            }
        }
        logLifecycle(writes)
        for id in forgets { loggedStates[id] = nil }
        var written = true
        if let persistence {
            do {
                if !writes.isEmpty { try await persistence.write(writes) }
                if !forgets.isEmpty { try await persistence.forget(forgets) }
            } catch {
                written = false
                logger.error("could not write leases to the store", metadata: ["error": "\(error)"])
            }
        }
        for (id, error) in failures {
            deliver(.failure(error), to: id)
        }
        for lease in grants {
            if !written {
                await undeliverable(lease.id)
                deliver(.failure(.stateUnwritable), to: lease.id)
                continue
            }
            if deliver(.success(lease), to: lease.id) {
                logger.trace("grant delivered", metadata: ["lease": "\(lease.id)"])
            } else if lease.host == host, shared == nil || departed.remove(lease.id) != nil {
                // Its request went away between the grant and now: nobody can use the slot.
                await undeliverable(lease.id)
            }
        }
        if queueChanged { bumpQueueVersion() }
        wake()
    }

    /// One info line per step of a lease of this host: granted, bound, released (or draining until its session
    /// ends), expired. Every state change is written, so the writes of a decision name them; a renewal, which
    /// changes no state, logs nothing.
    private func logLifecycle(_ writes: [Lease]) {
        for lease in writes where lease.host == host && loggedStates[lease.id] != lease.state {
            let message: Logger.Message
            switch lease.state {
            case .waiting: continue
            case .granted: message = "lease granted"
            case .bound: message = "lease bound"
            case .draining: message = "lease released; its slot is held until its session ends"
            case .released: message = "lease released"
            case .expired: message = "lease expired"
            }
            var metadata: Logger.Metadata = [
                "lease": "\(lease.id)", "holder": "\(lease.holder.isEmpty ? "-" : lease.holder)", "uid": "\(lease.uid)",
                "session": "\(lease.sessionID ?? "-")",
            ]
            if let waited = lease.waited { metadata["wait_ms"] = "\(waited.milliseconds)" }
            logger.info(message, metadata: metadata)
            if lease.state.isEnded {
                loggedStates[lease.id] = nil
            } else {
                loggedStates[lease.id] = lease.state
            }
        }
    }

    /// Tells the poller when the pace changed, so it need not wait out an idle interval.
    private func notePaceChange() {
        let pace = machine.pollingPace
        if pace != lastPace {
            lastPace = pace
            workContinuation.yield(.paceChanged)
        }
    }

    /// Hands an outcome to its parked request, or keeps it for a request about to park.
    @discardableResult
    private func deliver(_ outcome: Result<Lease, GatekeeperError>, to id: LeaseID) -> Bool {
        if let waiting = parked.removeValue(forKey: id) {
            waiting.resume(outcome)
            return true
        }
        if unparked.contains(id) {
            early[id] = outcome
            return true
        }
        return false
    }

    // MARK: Shared mode

    /// Runs one decision: on this daemon's machine, or in shared mode on the fleet's state, in one transaction
    /// under the fleet's lock, with the same state machine. A transaction that fails is `state_unwritable`.
    private func decide<T: Sendable>(
        naming ids: [LeaseID],
        _ op: @escaping @Sendable (inout GatekeeperStateMachine, Timestamp) -> Result<(T, [GatekeeperAction]), GatekeeperError>
    ) async -> Result<(T, [GatekeeperAction]), GatekeeperError> {
        guard shared != nil else { return op(&machine, clock.now) }
        if fallback == nil {
            do {
                return try await decideShared(naming: ids, op)
            } catch {
                logger.error("the fleet's database did not answer", metadata: ["error": "\(error)"])
                guard databaseAnsweredAt.duration(to: clock.now) >= Self.fallbackAfter else { return .failure(.stateUnwritable) }
                await enterFallback()
            }
        }
        // The database is away: decide alone, on this host's leases, within its share.
        closeFallbackGrantWindowIfDue()
        let result = op(&machine, clock.now)
        if case .failure(let error) = result, error.code == GatekeeperError.leaseNotFound("").code {
            // Most likely another host's lease, which only the database knows.
            return .failure(.stateUnwritable)
        }
        return result
    }

    /// One decision on the fleet's state, in one transaction; throws when the database does not answer.
    private func decideShared<T: Sendable>(
        naming ids: [LeaseID],
        _ op: @escaping @Sendable (inout GatekeeperStateMachine, Timestamp) -> Result<(T, [GatekeeperAction]), GatekeeperError>
    ) async throws -> Result<(T, [GatekeeperAction]), GatekeeperError> {
        guard let shared else { return op(&machine, clock.now) }
        let base = baseSettings
        let host = self.host
        let seed = seeds.next()
        do {
            let (result, rebuilt) = try await shared.transact(naming: ids) { state, now in
                var settings = base
                settings.reserve += state.absentShares
                var machine = GatekeeperStateMachine(settings: settings, host: host, shared: state, seed: seed)
                let result = op(&machine, now)
                guard case .success(let (_, actions)) = result else {
                    // Nothing changed: write nothing back.
                    return SharedDecision(state: state, value: (result, GatekeeperStateMachine?.none), notices: [])
                }
                let notices = Self.notices(for: actions, from: host, waiters: state.waiters)
                let written = machine.sharedState
                // What the store writes becomes the next version.
                machine.sharedVersion = written == state ? state.version : state.version + 1
                return SharedDecision(state: written, value: (result, Optional(machine)), notices: notices)
            }
            databaseAnsweredAt = clock.now
            if let rebuilt { adopt(rebuilt) }
            return result
        }
    }

    /// A host falls back to its share only after the database has been silent this long; other hosts keep the
    /// shares of hosts late by 3 s free (`PostgresSharedStore.lateAfterSeconds`).
    static let fallbackAfter = Duration.seconds(5)
    /// A host grants from its share for at most this long without the database; the fleet keeps the share of a
    /// silent host free for 10 minutes, a margin over this.
    static let fallbackGrantWindow = Duration.seconds(540)

    /// The fleet keeps the share of a silent host free for 10 minutes; past ``fallbackGrantWindow`` this host makes
    /// no new grant until the database returns (its leases stay).
    private func closeFallbackGrantWindowIfDue() {
        guard let (since, allowance) = fallback, allowance > 0, since.duration(to: clock.now) >= Self.fallbackGrantWindow else { return }
        var settings = machine.settings
        settings.maxHeld = 0
        _ = machine.configure(settings, now: clock.now)
        fallback = (since, 0)
        logger.error("the fleet's database is still unreachable: this host's fallback share is closed to new grants")
    }

    /// The database is away: from now on this host decides alone on its own leases, within `shared.fallback_share`
    /// slots counted with the leases it already holds, and only when every host was within its share at the last
    /// reading (else the shares could not bound the platform's count: it grants nothing until the database returns).
    private func enterFallback() async {
        guard fallback == nil else { return }
        let now = clock.now
        let view = machine
        let allowance = fallbackAllowed(view, now: now) ? fallbackShare : 0
        // This host's own leases, within its share, and the platform's own readings: the fleet's poller is gone
        // with the database, so this host's poller reads the platform for it (FleetMember), and a stale reading
        // pauses grants exactly as on a single host (design.md "Shared mode").
        var settings = baseSettings
        settings.maxHeld = allowance
        var shares = members?.shares ?? [:]
        shares[host] = fallbackShare
        // The sum of the shares this host knew of, and at least the limit before the outage (shares add up to at most
        // it): a member this host never heard of cannot make it take more than its part.
        settings.roomShare = RoomShare(share: allowance, total: max(allowance, shares.values.reduce(0, +), view.snapshot?.quota.limit ?? 0))
        var local = GatekeeperStateMachine(settings: settings, host: host, seed: seeds.next())
        for lease in view.allLeases where lease.host == host && (lease.state.holdsSlot || lease.countsUntilSnapshotAfter != nil) {
            local.restore(lease, now: now)
        }
        // The fleet's last reading stands until this host's first own one; once too old, it pauses grants.
        var actions: [GatekeeperAction] = []
        if let snapshot = view.snapshot { actions += local.observe(snapshot, now: now) }
        for waiter in view.waiters() where waiter.lease.host == host && (parked[waiter.lease.id] != nil || unparked.contains(waiter.lease.id)) {
            actions += local.enqueueWaiting(waiter.lease, now: now)
        }
        var history = view.estimator
        history.absorb(local.estimator)
        local.estimator = history
        machine = local
        fallback = (now, allowance)
        logger.error(
            "the fleet's database is unreachable: granting from this host's fallback share",
            metadata: ["fallback_share": "\(fallbackShare)", "allowance": "\(allowance)", "held_here": "\(local.liveLeases.count)"]
        )
        await execute(actions)
    }

    /// Whether the shares bound the platform's count: the slots hosts held above their shares at the last reading
    /// fit in what the shares leave of the limit.
    private func fallbackAllowed(_ view: GatekeeperStateMachine, now: Timestamp) -> Bool {
        guard fallbackShare > 0, let members, view.snapshot != nil else { return false }
        var shares = members.shares
        shares[host] = fallbackShare
        let limit = view.count(at: now).limit - baseSettings.reserve
        var held: [String: Int] = [:]
        for lease in view.liveLeases { held[lease.host, default: 0] += 1 }
        let excess = held.reduce(0) { $0 + max(0, $1.value - shares[$1.key, default: 0]) }
        return excess <= limit - shares.values.reduce(0, +)
    }

    /// The database answers again: bring this host's leases and waiters back into the fleet's state.
    private func leaveFallback() async {
        guard fallback != nil else { return }
        let leases = machine.allLeases
        let waiting = machine.waiters().map(\.lease)
        let host = self.host
        do {
            let result = try await decideShared(naming: leases.map(\.id)) { machine, now in
                .success(((), machine.reconcile(leases: leases, waiting: waiting, of: host, now: now)))
            }
            fallback = nil
            logger.notice("the fleet's database answers again: this host's leases are back in the fleet", metadata: ["leases": "\(leases.count)"])
            if case .success(let (_, actions)) = result { await execute(actions) }
        } catch {
            logger.warning("could not bring this host's leases back into the fleet yet", metadata: ["error": "\(error)"])
        }
    }

    /// What the other hosts must hear of a decision's actions.
    private static func notices(for actions: [GatekeeperAction], from host: String, waiters: [WaitQueue.Waiter]) -> [FleetNotice] {
        var notices: [FleetNotice] = []
        var changed = false
        // Hosts of the waiters, looked up only when a waiter failed (a timer may fail many at once).
        var waiterHosts: [LeaseID: String]? = nil
        for action in actions {
            switch action {
            case .grant(let lease):
                changed = true
                if lease.host != host { notices.append(.granted(host: lease.host, lease.id)) }
            case .fail(let id, let error):
                if waiterHosts == nil {
                    waiterHosts = Dictionary(waiters.map { ($0.lease.id, $0.lease.host) }, uniquingKeysWith: { first, _ in first })
                }
                if let owner = waiterHosts?[id], owner != host {
                    notices.append(.failed(host: owner, id, error))
                }
            case .upstream(let work):
                notices.append(.work(work))
            case .persist, .forget, .queueChanged:
                changed = true
            }
        }
        if changed { notices.append(.changed) }
        return notices
    }

    /// Takes a rebuilt fleet state as this host's view, unless a newer one is in hand already.
    private func adopt(_ rebuilt: GatekeeperStateMachine) {
        // A rebuilt view knows only the leases of the fleet's state: the holds this host saw end stay in its history.
        var history = machine.estimator
        history.absorb(rebuilt.estimator)
        let version = rebuilt.sharedVersion
        guard version >= sharedVersion else {
            machine.estimator = history
            return
        }
        sharedVersion = version
        machine = rebuilt
        machine.estimator = history
    }

    /// Re-reads the fleet's state (another host changed it), then wakes what depends on it: the timer, the
    /// poller's pace and streamed waiters' positions.
    public func fleetChanged() async {
        guard let shared, fallback == nil else { return }
        if refreshing.running {
            refreshing.again = true
            return
        }
        refreshing.running = true
        defer { refreshing.running = false }
        repeat {
            refreshing.again = false
            do {
                let state = try await shared.read(naming: [])
                adopt(GatekeeperStateMachine(settings: baseSettings, host: host, shared: state))
            } catch {
                logger.warning("could not re-read the fleet's state", metadata: ["error": "\(error)"])
                return
            }
        } while refreshing.again
        await settleParked()
        bumpQueueVersion()
        notePaceChange()
        wake()
    }

    /// Answers parked requests whose outcome the fleet's state shows but whose notice never came (the LISTEN
    /// connection was down): granted ones get their lease, and ones no longer waiting nor granted ran out.
    private func settleParked() async {
        guard shared != nil, !parked.isEmpty || !departed.isEmpty else { return }
        let waiting = Set(machine.waiters().map(\.lease.id))
        for id in departed where !waiting.contains(id) {
            departed.remove(id)
            // A grant for a client that went away, whose notice never came: give the slot back.
            if machine.lease(id)?.state == .granted { await undeliverable(id) }
        }
        for id in Array(parked.keys) {
            if let lease = machine.lease(id) {
                if lease.state == .granted { deliver(.success(lease), to: id) }
            } else if !waiting.contains(id) {
                deliver(.failure(.waitTimeout), to: id)
            }
        }
    }

    /// Another host granted this host's waiter: answer it, or give the slot back when its client is gone.
    /// - Parameter id: the lease id.
    public func fleetGranted(_ id: LeaseID) async {
        guard let shared, fallback == nil, let state = try? await shared.read(naming: [id]) else { return }
        let view = GatekeeperStateMachine(settings: baseSettings, host: host, shared: state)
        adopt(view)
        guard let lease = view.lease(id), lease.state == .granted else { return }
        // Not parked: either answered already (the periodic look came first) or its client went away.
        if !deliver(.success(lease), to: id), departed.remove(id) != nil { await undeliverable(id) }
    }

    /// Another host answered this host's waiter with an error (its wait ran out).
    /// - Parameters:
    ///   - id: the lease id.
    ///   - error: the error.
    public func fleetFailed(_ id: LeaseID, _ error: GatekeeperError) {
        deliver(.failure(error), to: id)
    }

    /// Shared mode: the heartbeat's outcome. The fleet's members when the database answered, nil when it did not.
    /// - Parameter members: the fleet's members, or nil.
    public func databaseAnswered(_ members: FleetMembers?) async {
        if databaseReachable != (members != nil) {
            logger.log(
                level: members != nil ? .info : .error,
                members != nil ? "the fleet's database answers" : "the fleet's database does not answer"
            )
        }
        databaseReachable = members != nil
        if let members {
            self.members = members
            databaseAnsweredAt = clock.now
            await leaveFallback()
        } else if databaseAnsweredAt.duration(to: clock.now) >= Self.fallbackAfter {
            await enterFallback()
        }
    }

    /// Work for the fleet's poller, sent by another host; taken only while this host polls.
    /// - Parameter work: the work.
    public func fleetWork(_ work: UpstreamWork) {
        if isPoller { workContinuation.yield(work) }
    }

    /// This host became the fleet's poller: the returned stream carries the platform work of the whole fleet.
    public func beginPolling() -> AsyncStream<UpstreamWork> {
        let (stream, continuation) = AsyncStream.makeStream(of: UpstreamWork.self, bufferingPolicy: .unbounded)
        workContinuation.finish()
        workContinuation = continuation
        isPoller = true
        continuation.yield(.pollNow)
        return stream
    }

    /// This host stopped polling for the fleet (it lost its claim).
    public func endPolling() {
        isPoller = false
        fallbackPolling = false
        workContinuation.finish()
    }

    /// Shared mode: while this host decides alone (the database is away), the number of hosts whose shares split
    /// the platform's call budget; nil when it is not in fallback.
    public func fallbackHosts() -> Int? {
        guard fallback != nil else { return nil }
        return max(1, members?.seen.count ?? 1)
    }

    /// Shared mode, in fallback: this host's own poller starts; its work stream, as ``beginPolling()`` gives it.
    public func beginFallbackPolling() -> AsyncStream<UpstreamWork> {
        let stream = beginPolling()
        fallbackPolling = true
        return stream
    }

    /// Shared mode: the fallback's poller stopped; a poller the fleet elected meanwhile keeps its stream.
    public func endFallbackPolling() {
        guard fallbackPolling else { return }
        endPolling()
    }

    /// Shared mode: a fresh view of the fleet if the database answers within `patience`, else the one this host has.
    /// The read goes on in the background when it takes longer (bounded by the store's own timeout).
    private func freshView(naming ids: [LeaseID], within patience: Duration) async -> GatekeeperStateMachine {
        guard let shared, fallback == nil, databaseReachable else { return machine }
        let (first, continuation) = AsyncStream<SharedGatekeeperState?>.makeStream(bufferingPolicy: .bufferingOldest(1))
        let reader = Task {
            continuation.yield(try? await shared.read(naming: ids))
            continuation.finish()
        }
        let timer = Task {
            try? await Task.sleep(for: patience)
            continuation.yield(nil)
            continuation.finish()
        }
        var state: SharedGatekeeperState?
        for await value in first {
            state = value
            break
        }
        timer.cancel()
        _ = reader
        guard let state else { return machine }
        let view = GatekeeperStateMachine(settings: baseSettings, host: host, shared: state)
        adopt(view)
        return view
    }

    /// Shared mode: a fresh view of the fleet, for reads that must not lag (a lease another host changed).
    private func freshView(naming ids: [LeaseID]) async -> GatekeeperStateMachine {
        guard let shared, fallback == nil, databaseReachable else { return machine }
        guard let state = try? await shared.read(naming: ids) else { return machine }
        let view = GatekeeperStateMachine(settings: baseSettings, host: host, shared: state)
        adopt(view)
        return view
    }

    private func bumpQueueVersion() {
        queueVersion &+= 1
        let watchers = queueWatchers.values
        queueWatchers = [:]
        for watcher in watchers { watcher.resume(returning: queueVersion) }
    }

    /// Like `execute`, but a failed write is the caller's error (bind, renew, release answer 503), and the named
    /// lease goes back to how it was before the decision (design.md invariant 4: memory never runs ahead of the
    /// ledger). What else the decision did, such as grants into a slot it freed, is carried out as usual.
    /// - Parameters:
    ///   - actions: the decision's actions.
    ///   - id: the lease the caller's request named.
    ///   - before: that lease before the decision; nil in shared mode, where the decision was its own transaction.
    private func executeDurably(_ actions: [GatekeeperAction], for id: LeaseID, before: Lease?) async throws(GatekeeperError) {
        if let persistence {
            let writes = actions.compactMap { action -> Lease? in
                if case .persist(let lease) = action { return lease }
                return nil
            }
            do {
                if !writes.isEmpty { try await persistence.write(writes) }
                logLifecycle(writes)
            } catch {
                logger.error("could not write leases to the store", metadata: ["lease": "\(id)", "error": "\(error)"])
                if let before, let changed = writes.last(where: { $0.id == id }) { _ = machine.revert(changed, to: before) }
                await execute(actions.filter { if case .persist(let lease) = $0 { lease.id != id } else { true } })
                throw .stateUnwritable
            }
        }
        if persistence == nil {
            logLifecycle(actions.compactMap { if case .persist(let lease) = $0 { lease } else { nil } })
        }
        await execute(actions.filter { if case .persist = $0 { false } else { true } })
    }
}

private func modify<T>(_ value: T, _ change: (inout T) -> Void) -> T {
    var value = value
    change(&value)
    return value
}

extension Result where Success == ((), [GatekeeperAction]) {
    /// The actions of a decision that returns nothing else; none when it failed.
    fileprivate var actionsOrEmpty: [GatekeeperAction] {
        if case .success(let (_, actions)) = self { return actions }
        return []
    }
}

/// The waiters in grant order with their estimated grant times, as of one queue version and instant.
private struct Forecast {
    var version: UInt64
    var at: Timestamp
    var order: [(priority: Int, grantAt: Timestamp?)] = []
    var byID: [LeaseID: Int] = [:]
}

/// How a parked request hears its outcome.
private enum Parked {
    /// A task suspended in ``Gatekeeper/outcome(of:)``.
    case task(CheckedContinuation<Result<Lease, GatekeeperError>, Never>)
    /// A callback given to ``Gatekeeper/submit(_:whenDecided:)``.
    case callback(@Sendable (Result<Lease, GatekeeperError>) -> Void)

    func resume(_ outcome: Result<Lease, GatekeeperError>) {
        switch self {
        case .task(let continuation): continuation.resume(returning: outcome)
        case .callback(let whenDecided): whenDecided(outcome)
        }
    }
}
