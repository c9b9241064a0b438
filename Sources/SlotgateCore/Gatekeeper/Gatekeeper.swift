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
    /// Writes leases' new states durably; returns only once they are on disk.
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
    private var parked: [LeaseID: CheckedContinuation<Result<Lease, GatekeeperError>, Never>] = [:]
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
    /// Bumped whenever waiters' positions may have changed.
    private var queueVersion: UInt64 = 0
    private var queueWatchers: [UInt64: CheckedContinuation<UInt64, Never>] = [:]
    private var nextWatcher: UInt64 = 0
    /// The pace last told to the poller.
    private var lastPace = PollingPace.idle
    /// Waiters' positions, computed at most once per queue version.
    private var positions: (version: UInt64, byID: [LeaseID: Int]) = (0, [:])
    private let clock: any TimestampClock
    private let persistence: (any LeasePersistence)?
    private let probe: (any SessionProbe)?
    private let logger: Logger
    private let workContinuation: AsyncStream<UpstreamWork>.Continuation
    /// Called by the timer loop on every turn and at least every `interval` (a service manager's watchdog).
    private var heartbeat: (interval: Duration, beat: @Sendable () -> Void)?

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
    public init(
        settings: GatekeeperSettings,
        host: String,
        clock: any TimestampClock = WallClock(),
        persistence: (any LeasePersistence)? = nil,
        restoring: [Lease] = [],
        probe: (any SessionProbe)? = nil,
        logger: Logger,
        seed: UInt64? = nil
    ) {
        var machine = GatekeeperStateMachine(settings: settings, host: host, seed: seed)
        let now = clock.now
        for lease in restoring { machine.restore(lease, now: now) }
        self.machine = machine
        self.clock = clock
        self.persistence = persistence
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
        let (id, actions) = machine.acquire(request, now: clock.now)
        unparked.insert(id)
        await execute(actions)
        return id
    }

    /// Waits for the outcome of a request queued with `submit`. Cancelling the calling task removes the request.
    /// - Parameter id: the id `submit` returned.
    public func outcome(of id: LeaseID) async -> Result<Lease, GatekeeperError> {
        await park(id)
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
                    _ = machine.cancel(id)
                } else {
                    parked[id] = continuation
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
        if let continuation = parked.removeValue(forKey: id) {
            continuation.resume(returning: .failure(.waitTimeout))
            await execute(machine.cancel(id).1)
        } else if unparked.contains(id) {
            cancelledEarly.insert(id)
        }
    }

    /// A granted lease whose answer could not be written to the client: released at once, the slot goes on.
    /// - Parameter id: the lease id.
    public func undeliverable(_ id: LeaseID) async {
        await execute(machine.undeliverable(id, now: clock.now))
    }

    /// Binds a granted lease to its platform session.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - session: the platform session id.
    public func bind(_ id: LeaseID, to session: String) async throws(GatekeeperError) -> Lease {
        let (lease, actions) = try machine.bind(id, to: session, now: clock.now)
        try await executeDurably(actions)
        return lease
    }

    /// Renews a granted lease.
    /// - Parameter id: the lease id.
    public func renew(_ id: LeaseID) async throws(GatekeeperError) -> Lease {
        let (lease, actions) = try machine.renew(id, now: clock.now)
        try await executeDurably(actions)
        return lease
    }

    /// Releases a lease (see `GatekeeperStateMachine.release`).
    /// - Parameters:
    ///   - id: the lease id.
    ///   - cancelSession: also cancel the session on the platform.
    public func release(_ id: LeaseID, cancelSession: Bool = false) async throws(GatekeeperError) -> Lease {
        let (lease, actions) = try machine.release(id, cancelSession: cancelSession, now: clock.now)
        guard let probe, let session = lease.sessionID, lease.state == .draining else {
            try await executeDurably(actions)
            return machine.lease(id) ?? lease
        }
        // Read the session once here rather than through the poller, so a session that already ended frees
        // its slot before this answer (what keeps `slotgate run` near 100 % utilization).
        let mine: Set<UpstreamWork> = [.confirmSession(session), .cancelSession(session)]
        try await executeDurably(
            actions.filter {
                guard case .upstream(let work) = $0 else { return true }
                return !mine.contains(work)
            }
        )
        let at = clock.now
        do {
            if cancelSession { _ = try await probe.cancelSession(id: session) }
            let status = try await probe.sessionStatus(id: session)
            await execute(machine.observeSession(session, status: status, at: at, now: clock.now))
        } catch {
            // The platform cannot be reached: the lease stays draining and the poller settles it.
            workContinuation.yield(cancelSession ? .cancelSession(session) : .confirmSession(session))
        }
        return machine.lease(id) ?? lease
    }

    /// Answers at once; `/healthz` uses it to tell that the actor is not stuck.
    public func ping() -> Bool { true }

    /// Records the outcome of a create made with a granted lease (the proxy).
    /// - Parameters:
    ///   - id: the lease id.
    ///   - outcome: the platform's answer.
    public func createOutcome(_ id: LeaseID, _ outcome: GatekeeperStateMachine.CreateOutcome) async throws(GatekeeperError) -> Lease {
        let (lease, actions) = try machine.createOutcome(id, outcome, now: clock.now)
        try await executeDurably(actions)
        return lease
    }

    /// Waits for a lease sent back to the queue (after a 429) to be granted again.
    /// - Parameter id: the lease id.
    public func awaitRequeued(_ id: LeaseID) async -> Result<Lease, GatekeeperError> {
        if let lease = machine.lease(id), lease.state != .waiting {
            return lease.state == .granted ? .success(lease) : .failure(.leaseConflict(id, "the lease is \(lease.state.rawValue)"))
        }
        unparked.insert(id)
        return await park(id)
    }

    /// A lease by id.
    /// - Parameter id: the lease id.
    public func lease(_ id: LeaseID) -> Lease? { machine.lease(id) }

    /// Every retained lease and the waiters in grant order.
    public func listing() -> (leases: [Lease], waiters: [WaitQueue.Waiter]) {
        (machine.allLeases, machine.waiters())
    }

    /// The position (1-based) of a waiting request in grant order and the number waiting, or nil.
    /// - Parameter id: the lease id.
    public func position(of id: LeaseID) -> (position: Int, waiting: Int)? {
        guard machine.lease(id)?.state == .waiting else { return nil }
        if positions.version != queueVersion || positions.byID.isEmpty {
            // Computed once per queue version, so many streamed waits cost one O(n log n) pass per change.
            var byID: [LeaseID: Int] = [:]
            for (index, waiter) in machine.waiters().enumerated() { byID[waiter.lease.id] = index + 1 }
            positions = (queueVersion, byID)
        }
        guard let position = positions.byID[id] else { return nil }
        return (position, positions.byID.count)
    }

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
    public func status() -> GatekeeperStatus {
        GatekeeperStatus(machine: machine, now: clock.now)
    }

    /// Applies new settings (a reload).
    /// - Parameter settings: the new settings.
    public func configure(_ settings: GatekeeperSettings) async {
        await execute(machine.configure(settings, now: clock.now))
        wake()
    }

    /// Stops taking requests: every waiter is answered `shutting_down`.
    public func shutdown() async {
        await execute(machine.shutdown())
        workContinuation.finish()
        wake()
    }

    // MARK: PlatformObserver

    public func pollingPace() -> PollingPace { machine.pollingPace }

    public func needsSessionList() -> Bool { machine.needsSessionList }

    public func observe(_ snapshot: PlatformSnapshot) async {
        await execute(machine.observe(snapshot, now: clock.now))
        wake()
    }

    public func observeTokens(_ reading: TokenReading) async {
        await execute(machine.observeTokens(reading, now: clock.now))
        wake()
    }

    public func observePollFailure(_ reason: String, at: Timestamp) async {
        machine.observePollFailure(reason, now: clock.now)
    }

    public func observeSession(_ id: String, status: SessionStatus?, at: Timestamp) async {
        await execute(machine.observeSession(id, status: status, at: at, now: clock.now))
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
        wake()
    }

    private func timerLoop() async {
        while !Task.isCancelled, machine.pause(at: clock.now) != .shuttingDown {
            let now = clock.now
            await execute(machine.tick(now: now))
            heartbeat?.beat()
            var deadline = machine.nextDeadline(now: clock.now)
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
            if !woken { wake() }
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

    /// Wakes the timer loop so it recomputes its deadline.
    private func wake() {
        if let sleeper {
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
            case .upstream(let work): workContinuation.yield(work)
            case .queueChanged: queueChanged = true
            }
        }
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
                await execute(machine.undeliverable(lease.id, now: clock.now))
                deliver(.failure(.stateUnwritable), to: lease.id)
                continue
            }
            if deliver(.success(lease), to: lease.id) {
                logger.debug("granted", metadata: ["lease": "\(lease.id)", "holder": "\(lease.holder)"])
            } else {
                // Its request went away between the grant and now: nobody can use the slot.
                await execute(machine.undeliverable(lease.id, now: clock.now))
            }
        }
        if queueChanged {
            queueVersion &+= 1
            let watchers = queueWatchers.values
            queueWatchers = [:]
            for watcher in watchers { watcher.resume(returning: queueVersion) }
        }
        wake()
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
        if let continuation = parked.removeValue(forKey: id) {
            continuation.resume(returning: outcome)
            return true
        }
        if unparked.contains(id) {
            early[id] = outcome
            return true
        }
        return false
    }

    /// Like `execute`, but a failed write is the caller's error (bind, renew, release answer 503).
    private func executeDurably(_ actions: [GatekeeperAction]) async throws(GatekeeperError) {
        if let persistence {
            let writes = actions.compactMap { action -> Lease? in
                if case .persist(let lease) = action { return lease }
                return nil
            }
            do {
                if !writes.isEmpty { try await persistence.write(writes) }
            } catch {
                logger.error("could not write leases to the store", metadata: ["error": "\(error)"])
                throw .stateUnwritable
            }
        }
        await execute(actions.filter { if case .persist = $0 { false } else { true } })
    }
}
