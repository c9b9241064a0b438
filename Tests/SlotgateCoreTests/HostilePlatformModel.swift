//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// The platform as agp-api.md describes it, not as it is polite, and the daemon's side of it (the proxy's create
/// settling, the poller, the ledger), for random sequences that check design.md's invariants after every step.
///
/// What the platform does at random: creates that take up to twice the claim TTL and commit at the start or the
/// end of their delay; answers that are lost; `active` that lags the list, and the list that lags the create (U3);
/// sessions that go `idle` and back; terminal sessions restarted by a message (§10, outside the gate); lists refused
/// for a while (U8); 429s from platform-wide capacity with no session made; limit changes and sessions created
/// outside the gate. The daemon is killed at random points and restarts from what its ledger holds.
struct HostileWorld: CustomStringConvertible {
    /// Nobody creates or restarts sessions around the daemon and the limit holds: no create may ever meet the limit.
    var closed: Bool
    /// A new session shows in the list after this, and in `active` after `activeLag` (never sooner).
    var listLag: Duration
    var activeLag: Duration
    /// The longest a create takes on the platform.
    var createDelay: Duration
    /// Whether the platform may refuse the list for a while.
    var listRefusals: Bool
    /// Whether the daemon is killed at random points.
    var kills: Bool
    var claimTTL: Duration

    var description: String {
        "closed=\(closed) listLag=\(listLag) activeLag=\(activeLag) createDelay=\(createDelay) listRefusals=\(listRefusals) kills=\(kills) ttl=\(claimTTL)"
    }
}

/// A violation of an invariant, with what broke.
struct ModelFailure: Error, CustomStringConvertible {
    var description: String
}

final class HostileRun {
    /// The platform's sessions.
    struct Session {
        var createdAt: Timestamp
        var status: SessionStatus
        var external: Bool
    }

    /// A create on its way through the platform.
    struct PendingCreate {
        var lease: LeaseID
        var key: String
        var commitAt: Timestamp
        var answerAt: Timestamp
        /// The answer never reaches the daemon.
        var lost: Bool
        /// Set once committed (the session) or refused.
        var session: String?
        var refused = false
        var committed = false
        /// The daemon's run that sent it; a kill orphans the creates of the runs before.
        var generation: Int
    }

    /// A proxied create the daemon is settling: the key it retries with, and when it may send the next attempt.
    struct Settling {
        var key: String
        var retryAt: Timestamp?
        var inFlight: Bool
    }

    var rng: SplitMix64
    let world: HostileWorld
    var limit: Int
    var now = Fixture.start
    var sessions: [String: Session] = [:]
    var pending: [PendingCreate] = []
    /// The platform's Idempotency-Key table: a committed key replays its session.
    var keys: [String: String] = [:]
    var nextSession = 0
    var nextKey = 0
    var listRefused = false
    var machine: GatekeeperStateMachine
    let settings: GatekeeperSettings
    /// What the ledger holds: every persisted lease, less the forgotten ones.
    var ledger: [LeaseID: Lease] = [:]
    var granted: Set<LeaseID> = []
    var waiting: Set<LeaseID> = []
    var settling: [LeaseID: Settling] = [:]
    /// Leases a create was sent with: one lease makes one session (a client does not send a second create with a
    /// new key for the same lease; after a kill its client never learned the lease's id).
    var used: Set<LeaseID> = []
    var work: [UpstreamWork] = []
    /// The steps, written down only when a failing seed is run again (formatting every step costs half the time).
    final class Notes {
        let enabled: Bool
        var lines: [String] = []
        init(enabled: Bool) { self.enabled = enabled }
    }
    let notes: Notes
    var kills = 0
    /// Set by `drain`: the platform answers every create from now on, so every settling ends.
    var calm = false
    /// The last thing done around the gate (a restart by message, an outside create, a limit change).
    var lastOutsideEvent: Timestamp?

    init(seed: UInt64, logging: Bool = false) {
        notes = Notes(enabled: logging)
        var rng = SplitMix64(seed: seed)
        let ttl = Duration.seconds(Int64.random(in: 5...30, using: &rng))
        let listLag: Duration = Bool.random(using: &rng) ? .zero : .milliseconds(Int64.random(in: 100...2000, using: &rng))
        let extra: Duration = Bool.random(using: &rng) ? .zero : .milliseconds(Int64.random(in: 100...2000, using: &rng))
        world = HostileWorld(
            closed: Int.random(in: 0..<3, using: &rng) != 0,
            listLag: listLag,
            activeLag: listLag + extra,
            createDelay: Bool.random(using: &rng) ? .milliseconds(Int64.random(in: 0...3000, using: &rng)) : ttl * 2,
            listRefusals: Bool.random(using: &rng),
            kills: Bool.random(using: &rng),
            claimTTL: ttl
        )
        var settings = GatekeeperSettings()
        settings.claimTTL = ttl
        settings.maxStaleness = .seconds(20)
        self.settings = settings
        limit = Int.random(in: 1...5, using: &rng)
        machine = GatekeeperStateMachine(settings: settings, host: "model", seed: seed)
        self.rng = rng
    }

    func note(_ text: @autoclosure () -> String) {
        if notes.enabled { notes.lines.append(text()) }
    }

    // MARK: The platform

    var nonTerminal: Int { sessions.values.filter { !$0.status.isTerminal }.count }

    func visible(_ session: Session, lag: Duration, at time: Timestamp) -> Bool {
        !session.status.isTerminal && session.createdAt.advanced(by: lag) <= time
    }

    /// Commits or refuses the creates whose time came, in order.
    func platformAdvance() throws {
        for index in pending.indices.sorted(by: { pending[$0].commitAt < pending[$1].commitAt }) where !pending[index].committed {
            guard pending[index].commitAt <= now else { continue }
            pending[index].committed = true
            let key = pending[index].key
            if let replay = keys[key] {
                pending[index].session = replay
                continue
            }
            guard nonTerminal < limit else {
                pending[index].refused = true
                if world.closed {
                    throw ModelFailure(description: "429: the platform refused \(pending[index].lease)'s create at its limit \(limit)")
                }
                note("platform refuses \(pending[index].lease)'s create (limit)")
                continue
            }
            nextSession += 1
            let id = "ses-\(nextSession)"
            sessions[id] = Session(createdAt: now, status: .pending, external: false)
            keys[key] = id
            pending[index].session = id
            note("platform commits \(id) for \(pending[index].lease)")
        }
    }

    func platformEvent() {
        let choice = Int.random(in: 0..<10, using: &rng)
        let live = sessions.filter { !$0.value.status.isTerminal }.keys.sorted()
        switch choice {
        case 0..<5:
            if let id = live.randomElement(using: &rng) {
                sessions[id]?.status = [.completed, .failed, .timedOut].randomElement(using: &rng) ?? .completed
                note("platform ends \(id)")
            }
        case 5..<7:
            if let id = live.randomElement(using: &rng) {
                let wasIdle = sessions[id]?.status == .idle
                sessions[id]?.status = wasIdle ? .running : .idle
            }
        case 7:
            guard !world.closed else { return }
            // A message restarts a terminal session, subject to quota (§10): outside the gate.
            if let id = sessions.filter({ $0.value.status.isTerminal }).keys.sorted().randomElement(using: &rng), nonTerminal < limit {
                sessions[id]?.status = .running
                lastOutsideEvent = now
                note("a message restarts \(id)")
            }
        case 8:
            guard !world.closed else { return }
            if Bool.random(using: &rng) {
                guard nonTerminal < limit else { return }
                nextSession += 1
                sessions["ext-\(nextSession)"] = Session(createdAt: now, status: .running, external: true)
                lastOutsideEvent = now
                note("external create ext-\(nextSession)")
            } else {
                limit = max(1, limit + Int.random(in: -2...2, using: &rng))
                lastOutsideEvent = now
                note("limit → \(limit)")
            }
        default:
            if world.listRefusals {
                listRefused.toggle()
                note(listRefused ? "the platform refuses the list" : "the platform lists again")
            }
        }
    }

    // MARK: The daemon

    func apply(_ actions: [GatekeeperAction]) throws {
        for action in actions {
            switch action {
            case .grant(let lease):
                waiting.remove(lease.id)
                granted.insert(lease.id)
            case .fail(let id, _):
                waiting.remove(id)
            case .persist(let lease):
                if lease.state == .released, let session = lease.sessionID, sessions[session]?.status.isTerminal == false {
                    throw ModelFailure(description: "early free: \(lease.id) released while \(session) runs")
                }
                ledger[lease.id] = lease
                if !lease.state.holdsSlot { granted.remove(lease.id) }
            case .forget(let id):
                ledger[id] = nil
            case .upstream(let item):
                work.append(item)
            case .queueChanged:
                continue
            }
        }
    }

    func acquire() throws {
        let wait: Duration = Bool.random(using: &rng) ? .zero : .seconds(Int64.random(in: 1...40, using: &rng))
        let request = AcquireRequest(holder: "h\(Int.random(in: 0..<3, using: &rng))", uid: 1000, wait: wait)
        let (id, actions) = machine.acquire(request, now: now)
        waiting.insert(id)
        try apply(actions)
        if actions.failures[id] != nil { waiting.remove(id) }
        note("acquire \(id) wait=\(wait)")
    }

    /// The proxy sends a create with a granted lease: the daemon marks it, then the platform takes its time.
    func beginCreate() throws {
        let candidates = granted.filter { !used.contains($0) && machine.lease($0)?.state == .granted }.sorted()
        guard let id = candidates.randomElement(using: &rng) else { return }
        try apply(machine.beginCreate(id, now: now).1)
        used.insert(id)
        nextKey += 1
        let key = "key-\(nextKey)"
        settling[id] = Settling(key: key, retryAt: nil, inFlight: true)
        send(id, key: key)
        note("create sent for \(id)")
    }

    /// One attempt with the key: platform-wide capacity may refuse it with 429 at once (no session made).
    func send(_ id: LeaseID, key: String) {
        let delay = Duration.milliseconds(Int64.random(in: 0...max(0, world.createDelay.milliseconds), using: &rng))
        let atStart = Bool.random(using: &rng)
        pending.append(
            PendingCreate(
                lease: id,
                key: key,
                commitAt: atStart ? now : now.advanced(by: delay),
                answerAt: now.advanced(by: delay),
                lost: !calm && Int.random(in: 0..<5, using: &rng) == 0,
                generation: kills
            )
        )
    }

    /// Answers that arrived: the proxy's settling reacts as ProxyRoutes does.
    func deliverAnswers() throws {
        var remaining: [PendingCreate] = []
        for create in pending {
            guard create.committed, create.answerAt <= now else {
                remaining.append(create)
                continue
            }
            // Its settling task died with a kill: nobody hears the answer.
            guard create.generation == kills, settling[create.lease] != nil else { continue }
            if create.lost {
                note("the answer for \(create.lease) is lost")
                try apply((try? machine.createOutcome(create.lease, .noAnswer, now: now))?.1 ?? [])
                settling[create.lease]?.inFlight = false
                settling[create.lease]?.retryAt = now.advanced(by: .seconds(1))
            } else if let session = create.session {
                note("\(create.lease) → \(session)")
                if let (_, actions) = try? machine.createOutcome(create.lease, .created(sessionID: session), now: now) {
                    try apply(actions)
                } else {
                    try apply((try? machine.createOutcome(create.lease, .rejected, now: now))?.1 ?? [])
                }
                settling[create.lease] = nil
            } else if create.refused {
                note("\(create.lease) → 429")
                try apply((try? machine.createOutcome(create.lease, .rejectedTooManyRequests, now: now))?.1 ?? [])
                settling[create.lease] = nil
                granted.remove(create.lease)
                waiting.insert(create.lease)
            }
        }
        pending = remaining
        // Retries of creates whose answer was lost, with the same key: the platform replays a committed one.
        for (id, state) in settling.sorted(by: { $0.key < $1.key }) where !state.inFlight {
            guard let retryAt = state.retryAt, retryAt <= now else { continue }
            // Each attempt renews the lease's mark, as ProxyRoutes.settle does.
            guard let (_, actions) = try? machine.beginCreate(id, now: now) else {
                settling[id] = nil
                continue
            }
            try apply(actions)
            settling[id]?.inFlight = true
            send(id, key: state.key)
            note("retry for \(id) with \(state.key)")
        }
    }

    /// A capacity 429 on a create that never reached the limit check: no session, the request is requeued.
    func capacityRefusal() throws {
        let candidates = granted.filter { !used.contains($0) && machine.lease($0)?.state == .granted }.sorted()
        guard let id = candidates.randomElement(using: &rng) else { return }
        try apply(machine.beginCreate(id, now: now).1)
        try apply(machine.createOutcome(id, .rejectedTooManyRequests, now: now).1)
        granted.remove(id)
        waiting.insert(id)
        note("capacity 429 for \(id)")
    }

    /// A poll as the poller makes it: the quota, then the list (or, refused, status reads of tracked sessions).
    func poll() throws {
        let sentAt = now
        let active = sessions.values.filter { visible($0, lag: world.activeLag, at: sentAt) }.count
        // The list is read a moment later; a session may end in between.
        if Bool.random(using: &rng), let id = sessions.filter({ !$0.value.status.isTerminal }).keys.sorted().randomElement(using: &rng) {
            sessions[id]?.status = .completed
            note("\(id) ends between the quota and the list")
        }
        let quota = QuotaReading(scope: .org, limit: limit, active: active)
        var reading: PlatformSnapshot
        var ended: [(String, SessionStatus?)] = []
        if listRefused {
            var found: [ListedSession] = []
            for id in machine.sessionsToRead(limit: 4) {
                let status = sessions[id]?.status
                if let status, !status.isTerminal { found.append(ListedSession(id: id, status: status)) } else { ended.append((id, status)) }
            }
            reading = PlatformSnapshot(sentAt: sentAt, quota: quota, sessions: found, sessionsComplete: false)
        } else {
            let listed = sessions.filter { visible($0.value, lag: world.listLag, at: sentAt) }.sorted { $0.key < $1.key }
            reading = PlatformSnapshot(sentAt: sentAt, quota: quota, sessions: listed.map { ListedSession(id: $0.key, status: $0.value.status) })
        }
        note("poll active=\(active) limit=\(limit)\(listRefused ? " (list refused)" : "")")
        try apply(machine.observe(reading, now: now))
        for (id, status) in ended { try apply(machine.observeSession(id, status: status, at: sentAt, now: now)) }
    }

    func release() throws {
        guard let id = (granted.union(Set(ledger.keys.filter { ledger[$0]?.state.holdsSlot == true }))).sorted().randomElement(using: &rng) else {
            return
        }
        let cancel = Int.random(in: 0..<4, using: &rng) == 0
        if let (_, actions) = try? machine.release(id, cancelSession: cancel, now: now) {
            try apply(actions)
            note("release \(id) cancel=\(cancel)")
        }
    }

    /// A client that got a lease binds the session it made itself (lease mode), or the holder renews.
    func leaseModeCreate() throws {
        let candidates = granted.filter { !used.contains($0) && machine.lease($0)?.state == .granted }.sorted()
        guard let id = candidates.randomElement(using: &rng) else { return }
        guard nonTerminal < limit else {
            if world.closed { throw ModelFailure(description: "429: \(id)'s own create met the limit \(limit)") }
            return
        }
        used.insert(id)
        nextSession += 1
        let session = "ses-\(nextSession)"
        sessions[session] = Session(createdAt: now, status: .pending, external: false)
        if let (_, actions) = try? machine.bind(id, to: session, now: now) { try apply(actions) }
        note("lease-mode create \(session) for \(id)")
    }

    func processWork() throws {
        let items = work
        work = []
        for item in items {
            switch item {
            case .pollNow: try poll()
            case .paceChanged: continue
            case .confirmSession(let id): try apply(machine.observeSession(id, status: sessions[id]?.status, at: now, now: now))
            case .cancelSession(let id):
                if sessions[id]?.status.isTerminal == false { sessions[id]?.status = .interrupted }
                try apply(machine.observeSession(id, status: sessions[id]?.status, at: now, now: now))
            }
        }
    }

    /// SIGKILL: the process and its settling tasks die; a new one restores the ledger. Waiters' clients see their
    /// connections close; creates in flight go on at the platform, unanswered.
    func kill() {
        kills += 1
        var restarted = GatekeeperStateMachine(settings: settings, host: "model", seed: rng.next())
        for lease in ledger.values.sorted(by: { $0.id < $1.id }) { restarted.restore(lease, now: now) }
        machine = restarted
        waiting = []
        settling = [:]
        work = []
        granted = Set(ledger.values.filter { $0.state == .granted }.map(\.id))
        note("SIGKILL and restart from the ledger (\(ledger.count) leases)")
    }

    func step() throws {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<18: try acquire()
        case 18..<30: try beginCreate()
        case 30..<34: try leaseModeCreate()
        case 34..<42: try release()
        case 42..<54: platformEvent()
        case 54..<66: try poll()
        case 66..<76: try processWork()
        case 76..<90:
            now = now.advanced(by: .milliseconds(Int64.random(in: 10...6000, using: &rng)))
            try platformAdvance()
            try deliverAnswers()
            try apply(machine.tick(now: now))
        case 90..<93: try capacityRefusal()
        case 93..<96:
            if let id = waiting.sorted().randomElement(using: &rng) {
                _ = machine.cancel(id)
                waiting.remove(id)
            }
        default:
            if world.kills, Int.random(in: 0..<3, using: &rng) == 0 { kill() }
        }
        try platformAdvance()
    }

    /// The count never falls below the sessions the platform holds: in a closed world always, in an open one once a
    /// reading was sent after the last thing done around the gate and late enough to show it (design.md invariant 1:
    /// outside sessions may cause a 429 within one poll interval, not longer).
    func checkCount() throws {
        guard let snapshot = machine.snapshot else { return }
        if !world.closed {
            guard let outside = lastOutsideEvent, snapshot.sentAt > outside.advanced(by: world.activeLag) else { return }
        }
        let count = machine.count(at: now)
        if count.inUse < nonTerminal {
            let committing = pending.filter { !$0.committed && keys[$0.key] == nil }.count
            throw ModelFailure(description: "under-count: in_use \(count.inUse) < platform \(nonTerminal) (+\(committing) committing)")
        }
    }

    /// Everything ends and settles: every slot comes back.
    func drain() throws {
        for id in waiting.sorted() { _ = machine.cancel(id) }
        waiting = []
        // Eight rounds of 60 s: past the longest create (60 s), the settle bound (120 s) and a claim TTL (30 s).
        calm = true
        for _ in 0..<8 {
            now = now.advanced(by: .seconds(60))
            for id in sessions.keys { sessions[id]?.status = .completed }
            try platformAdvance()
            try deliverAnswers()
            for id in granted.sorted() where settling[id] == nil {
                if let (_, actions) = try? machine.release(id, now: now) { try apply(actions) }
            }
            try apply(machine.tick(now: now))
            listRefused = false
            try poll()
            try processWork()
            for id in sessions.keys { sessions[id]?.status = .completed }
        }
        let count = machine.count(at: now)
        guard count.inUse == 0, machine.liveLeases.isEmpty else {
            throw ModelFailure(description: "leak: in_use \(count.inUse), live \(machine.liveLeases.map { "\($0.id) \($0.state)" })")
        }
    }

    /// Runs one sequence; nil when every invariant held, else the failure with the seed and the last steps.
    static func run(seed: UInt64, steps: Int, logging: Bool = false) -> String? {
        let run = HostileRun(seed: seed, logging: logging)
        do {
            try run.poll()
            for _ in 0..<steps {
                try run.step()
                try run.checkCount()
            }
            try run.drain()
            return nil
        } catch {
            // The sequence is deterministic: run it again with its steps written down.
            guard logging else { return Self.run(seed: seed, steps: steps, logging: true) }
            let tail = run.notes.lines.suffix(30).joined(separator: "\n  ")
            return "seed \(seed) [\(run.world)] failed: \(error)\n  last steps:\n  \(tail)"
        }
    }
}
