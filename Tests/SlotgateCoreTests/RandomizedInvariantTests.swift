//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Thousands of random event sequences against a model of the platform, checking design.md's invariants after
/// every step. A failure prints its seed; `SLOTGATE_SEED=<seed> swift test --filter RandomizedInvariantTests`
/// replays exactly that sequence.
@Suite struct RandomizedInvariantTests {
    /// How the world around the daemon behaves in one sequence.
    struct World: CustomStringConvertible {
        /// Nobody creates sessions around the daemon and the limit holds: the platform must never refuse a create.
        var closed: Bool
        /// How long the platform takes to show a new session in `active` and the list.
        var lag: Duration
        /// Clients may end a lease without binding the session they created (only with no lag, where the
        /// design's ended-unbound rule is exact).
        var sloppyClients: Bool
        var slotsMax: Int?
        var reserve: Int
        var description: String {
            "closed=\(closed) lag=\(lag) sloppy=\(sloppyClients) slotsMax=\(slotsMax.map(String.init) ?? "nil") reserve=\(reserve)"
        }
    }

    /// The platform: sessions with a creation time and whether they ended.
    struct Platform {
        struct Session {
            var createdAt: Timestamp
            var ended = false
            var external: Bool
        }
        var limit: Int
        var lag: Duration
        var sessions: [String: Session] = [:]
        var next = 0

        var nonTerminal: Int { sessions.values.filter { !$0.ended }.count }

        mutating func create(at now: Timestamp, external: Bool) -> String? {
            guard nonTerminal < limit else { return nil }
            next += 1
            let id = "ses-\(next)"
            sessions[id] = Session(createdAt: now, external: external)
            return id
        }

        func visible(at now: Timestamp) -> [String] {
            sessions.filter { !$0.value.ended && $0.value.createdAt.advanced(by: lag) <= now }.keys.sorted()
        }

        func snapshot(at now: Timestamp) -> PlatformSnapshot {
            let visible = visible(at: now)
            return PlatformSnapshot(
                sentAt: now,
                quota: QuotaReading(scope: .org, limit: limit, active: visible.count),
                sessions: visible.map { ListedSession(id: $0, status: .running) }
            )
        }

        func status(_ id: String) -> SessionStatus? {
            guard let session = sessions[id] else { return nil }
            return session.ended ? .completed : .running
        }
    }

    /// What a client knows of its lease.
    enum ClientLease {
        case granted
        case bound(String)
        case gaveUp
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Run {
        var rng: SplitMix64
        var world: World
        var platform: Platform
        var machine: GatekeeperStateMachine
        var now = Fixture.start
        var clients: [LeaseID: ClientLease] = [:]
        var waiting: Set<LeaseID> = []
        var work: [UpstreamWork] = []
        var log: [String] = []
        /// Shared mode: each step is decided by one of three hosts, on a machine rebuilt from the fleet's state
        /// as the database holds it, exactly as slotgated does in each transaction.
        var fleet = false

        init(seed: UInt64, fleet: Bool = false) {
            var rng = SplitMix64(seed: seed)
            let closed = Int.random(in: 0..<4, using: &rng) != 0
            let lag: Duration = Bool.random(using: &rng) ? .zero : .milliseconds(Int64.random(in: 100...3000, using: &rng))
            let slotsMax: Int? = Int.random(in: 0..<5, using: &rng) == 0 ? Int.random(in: 1...4, using: &rng) : nil
            let world = World(
                closed: closed,
                lag: lag,
                sloppyClients: lag == .zero && Bool.random(using: &rng),
                slotsMax: slotsMax,
                reserve: Int.random(in: 0..<6, using: &rng) == 0 ? 1 : 0
            )
            var settings = GatekeeperSettings()
            settings.claimTTL = .seconds(Int64.random(in: 5...60, using: &rng))
            settings.maxStaleness = .seconds(20)
            settings.slotsMax = world.slotsMax
            settings.reserve = world.reserve
            settings.maxPerHolder = Int.random(in: 0..<3, using: &rng) == 0 ? 3 : 0
            self.world = world
            self.platform = Platform(limit: Int.random(in: 1...6, using: &rng), lag: lag)
            self.machine = GatekeeperStateMachine(settings: settings, host: "model", seed: seed)
            self.rng = rng
            self.fleet = fleet
        }

        /// Shared mode: hands the next decision to a random host, with the machine rebuilt from what the database
        /// keeps (ended leases that no longer count are not loaded). The rebuild must be exact.
        mutating func switchHost() throws {
            guard fleet else { return }
            var state = machine.sharedState
            state.leases = state.leases.filter { $0.state.holdsSlot || $0.countsUntilSnapshotAfter != nil }
            let host = "host-\(Int.random(in: 0..<3, using: &rng))"
            let rebuilt = GatekeeperStateMachine(settings: machine.settings, host: host, shared: state, seed: rng.next())
            if rebuilt.count(at: now) != machine.count(at: now) {
                throw Failure(description: "rebuild changed the count: \(machine.count(at: now)) → \(rebuilt.count(at: now))")
            }
            if rebuilt.waiters().map(\.lease.id) != machine.waiters().map(\.lease.id) {
                throw Failure(description: "rebuild changed the grant order")
            }
            if rebuilt.pollingPace != machine.pollingPace || rebuilt.pause(at: now) != machine.pause(at: now) {
                throw Failure(description: "rebuild changed the pace or the pause")
            }
            machine = rebuilt
        }

        mutating func apply(_ actions: [GatekeeperAction]) throws {
            for action in actions {
                switch action {
                case .grant(let lease):
                    guard waiting.remove(lease.id) != nil || clients[lease.id] == nil else {
                        throw Failure(description: "granted \(lease.id) twice")
                    }
                    clients[lease.id] = .granted
                case .fail(let id, _):
                    waiting.remove(id)
                case .persist(let lease):
                    // No early free: a lease with a session ends only once the platform says it is terminal.
                    if lease.state == .released, let session = lease.sessionID, platform.status(session)?.isTerminal == false {
                        throw Failure(description: "early free: \(lease.id) released while \(session) runs")
                    }
                    if lease.state.isEnded, case .bound = clients[lease.id] ?? .gaveUp {
                        clients[lease.id] = nil
                    }
                case .upstream(let item):
                    work.append(item)
                case .forget, .queueChanged:
                    continue
                }
            }
        }

        mutating func step() throws {
            try switchHost()
            let choice = Int.random(in: 0..<100, using: &rng)
            switch choice {
            case 0..<22:
                let wait: Duration = Bool.random(using: &rng) ? .zero : .seconds(Int64.random(in: 1...40, using: &rng))
                let request = AcquireRequest(
                    holder: "holder-\(Int.random(in: 0..<4, using: &rng))",
                    uid: UInt32.random(in: 1000...1001, using: &rng),
                    priority: Int.random(in: -1...1, using: &rng),
                    wait: wait
                )
                let (id, actions) = machine.acquire(request, now: now)
                waiting.insert(id)
                try apply(actions)
                if actions.failures[id] != nil || actions.granted.contains(where: { $0.id == id }) { waiting.remove(id) }
                log.append("acquire \(id) wait=\(wait)")
            case 22..<40:
                try createWithRandomGrant()
            case 40..<50:
                try releaseRandomLease()
            case 50..<60:
                if let id = platform.sessions.filter({ !$0.value.ended }).keys.sorted().randomElement(using: &rng) {
                    platform.sessions[id]?.ended = true
                    log.append("platform ends \(id)")
                }
            case 60..<72:
                try poll()
            case 72..<82:
                try processWork()
            case 82..<92:
                now = now.advanced(by: .milliseconds(Int64.random(in: 10...8000, using: &rng)))
                log.append("time +→ \(now)")
                try apply(machine.tick(now: now))
            case 92..<95:
                if let id = clients.keys.sorted().randomElement(using: &rng) {
                    _ = try? machine.renew(id, now: now)
                }
            case 95..<97:
                if let id = waiting.sorted().randomElement(using: &rng) {
                    _ = machine.cancel(id)
                    waiting.remove(id)
                    log.append("client of \(id) went away")
                }
            default:
                if !world.closed {
                    if Bool.random(using: &rng) {
                        let id = platform.create(at: now, external: true)
                        log.append("external create \(id ?? "refused")")
                    } else {
                        platform.limit = max(1, platform.limit + Int.random(in: -2...2, using: &rng))
                        log.append("limit → \(platform.limit)")
                    }
                }
            }
        }

        /// A poll as the poller makes it: the quota first, then the list a moment later; a session may end in
        /// between, so the list may miss a session the quota counted.
        mutating func poll() throws {
            let quotaAt = now
            let active = platform.visible(at: quotaAt).count
            var note = "poll"
            if Bool.random(using: &rng), let id = platform.sessions.filter({ !$0.value.ended }).keys.sorted().randomElement(using: &rng) {
                platform.sessions[id]?.ended = true
                note += " (\(id) ends between the quota and the list)"
            }
            let listed = platform.visible(at: quotaAt).map { ListedSession(id: $0, status: .running) }
            log.append(note)
            let reading = PlatformSnapshot(sentAt: quotaAt, quota: QuotaReading(scope: .org, limit: platform.limit, active: active), sessions: listed)
            try apply(machine.observe(reading, now: now))
        }

        mutating func createWithRandomGrant() throws {
            let granted = clients.filter {
                if case .granted = $0.value { return true }
                return false
            }
            guard let id = granted.keys.sorted().randomElement(using: &rng), let lease = machine.lease(id), lease.state == .granted else { return }
            let limitBefore = platform.limit
            guard let session = platform.create(at: now, external: false) else {
                if world.closed {
                    throw Failure(description: "over-grant: the platform refused \(id)'s create (limit \(limitBefore))")
                }
                log.append("create for \(id) → 429")
                try apply(machine.createOutcome(id, .rejectedTooManyRequests, now: now).1)
                clients[id] = nil
                waiting.insert(id)
                return
            }
            let fate = Int.random(in: 0..<10, using: &rng)
            if fate < 7 {
                log.append("create for \(id) → \(session), bound")
                try apply(machine.createOutcome(id, .created(sessionID: session), now: now).1)
                clients[id] = .bound(session)
            } else if fate < 9 && world.lag > .zero {
                // The answer is lost; the retry with the same Idempotency-Key replays the session and settles it.
                // (With a lag, that retry is the only safe settlement: a reading may not show the session yet.)
                log.append("create for \(id) → \(session), no answer, then settled by the retry")
                try apply(machine.createOutcome(id, .noAnswer, now: now).1)
                try apply(machine.createOutcome(id, .created(sessionID: session), now: now).1)
                clients[id] = .bound(session)
            } else if fate < 9 {
                // The answer is lost: the session exists and the client gives up. The daemon's own retry with the
                // same Idempotency-Key settles it later and binds the lease, which then ends with the session.
                log.append("create for \(id) → \(session), no answer, the client gives up, the daemon's retry settles it")
                try apply(machine.createOutcome(id, .noAnswer, now: now).1)
                #expect(throws: GatekeeperError.self) { try machine.release(id, now: now) }
                try apply(machine.createOutcome(id, .created(sessionID: session), now: now).1)
                clients[id] = .gaveUp
            } else if world.sloppyClients {
                log.append("create for \(id) → \(session), released unbound")
                clients[id] = .gaveUp
                try apply(machine.release(id, now: now).1)
            } else {
                try apply(machine.bind(id, to: session, now: now).1)
                clients[id] = .bound(session)
            }
        }

        mutating func releaseRandomLease() throws {
            guard let id = clients.keys.sorted().randomElement(using: &rng) else { return }
            let cancel = Int.random(in: 0..<4, using: &rng) == 0
            log.append("release \(id) cancel=\(cancel)")
            if let (_, actions) = try? machine.release(id, cancelSession: cancel, now: now) {
                try apply(actions)
            }
            if case .granted = clients[id] ?? .gaveUp { clients[id] = nil }
        }

        mutating func processWork() throws {
            let items = work
            work = []
            for item in items {
                switch item {
                case .pollNow:
                    try poll()
                case .confirmSession(let session):
                    try apply(machine.observeSession(session, status: platform.status(session), at: now, now: now))
                case .paceChanged:
                    continue
                case .cancelSession(let session):
                    platform.sessions[session]?.ended = true
                    try apply(machine.observeSession(session, status: platform.status(session), at: now, now: now))
                }
            }
        }

        /// The conservative count never falls below what the platform really holds, while the world is closed.
        func checkCount() throws {
            guard world.closed, machine.snapshot != nil else { return }
            let count = machine.count(at: now)
            if count.inUse < platform.nonTerminal {
                throw Failure(description: "under-count: in_use \(count.inUse) < platform \(platform.nonTerminal)")
            }
        }

        /// Everything ends: every slot must come back (no leak).
        mutating func drain() throws {
            for id in waiting.sorted() { _ = machine.cancel(id) }
            waiting = []
            for id in platform.sessions.keys { platform.sessions[id]?.ended = true }
            for id in clients.keys.sorted() {
                if let (_, actions) = try? machine.release(id, now: now) { try apply(actions) }
            }
            for _ in 0..<3 {
                now = now.advanced(by: .seconds(120))
                try apply(machine.tick(now: now))
                try apply(machine.observe(platform.snapshot(at: now), now: now))
                try processWork()
            }
            let count = machine.count(at: now)
            guard count.inUse == 0, count.heldByLeases == 0, machine.liveLeases.isEmpty else {
                throw Failure(
                    description:
                        "leak: in_use \(count.inUse), held \(count.heldByLeases), live \(machine.liveLeases.map { "\($0.id) \($0.state)" })"
                )
            }
        }
    }

    static func runSequence(seed: UInt64, steps: Int, fleet: Bool = false) -> String? {
        var run = Run(seed: seed, fleet: fleet)
        do {
            try run.apply(run.machine.observe(run.platform.snapshot(at: run.now), now: run.now))
            for _ in 0..<steps {
                try run.step()
                try run.checkCount()
            }
            try run.drain()
            return nil
        } catch {
            let tail = run.log.suffix(25).joined(separator: "\n  ")
            return "seed \(seed) [\(run.world)] failed: \(error)\n  last steps:\n  \(tail)"
        }
    }

    @Test func invariantsHoldOverRandomSequences() {
        if let text = getenv("SLOTGATE_SEED").map({ String(cString: $0) }), let seed = UInt64(text) {
            let failure = Self.runSequence(seed: seed, steps: 400)
            #expect(failure == nil, "\(failure ?? "")")
            return
        }
        let base = UInt64.random(in: 0..<(1 << 40))
        var failures: [String] = []
        for offset in 0..<10_000 {
            if let failure = Self.runSequence(seed: base + UInt64(offset), steps: 120) {
                failures.append(failure)
                if failures.count >= 3 { break }
            }
        }
        #expect(failures.isEmpty, "replay with SLOTGATE_SEED=<seed>:\n\(failures.joined(separator: "\n"))")
    }

    /// Shared mode: the same invariants when three hosts interleave, each deciding on the fleet's state rebuilt
    /// from the database (issue 6).
    @Test func invariantsHoldWhenThreeHostsInterleave() {
        if let text = getenv("SLOTGATE_SEED").map({ String(cString: $0) }), let seed = UInt64(text) {
            let failure = Self.runSequence(seed: seed, steps: 400, fleet: true)
            #expect(failure == nil, "\(failure ?? "")")
            return
        }
        let base = UInt64.random(in: 0..<(1 << 40))
        var failures: [String] = []
        for offset in 0..<3_000 {
            if let failure = Self.runSequence(seed: base + UInt64(offset), steps: 120, fleet: true) {
                failures.append(failure)
                if failures.count >= 3 { break }
            }
        }
        #expect(failures.isEmpty, "replay with SLOTGATE_SEED=<seed>:\n\(failures.joined(separator: "\n"))")
    }

    @Test(arguments: [1, 2, 3, 5, 8, 13, 21, 34])
    func longSequencesHoldToo(seed: UInt64) {
        let failure = Self.runSequence(seed: seed * 7919, steps: 3000)
        #expect(failure == nil, "\(failure ?? "")")
    }
}
