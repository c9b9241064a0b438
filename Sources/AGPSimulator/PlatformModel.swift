//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The simulated platform's state and every decision it makes, as a pure value: time comes in as `now`
/// with each event, nothing sleeps and nothing runs in the background.
///
/// Lifecycles are computed lazily from timestamps. Before handling any event at `now`, ``advance(to:)``
/// settles, in time order, every end that was due, and promotes queued sessions into the slots those ends
/// freed at the instant they freed them. Ends only lower the number of non-terminal sessions, so the peak is
/// reached at a creation, a restart or a revival, and is measured exactly there (``notePeak(at:)``).
///
/// The limit is enforced on the real count, lag-hidden sessions included: the platform's own bookkeeping is
/// authoritative, and ``SimulatorConfiguration/activeLag`` only delays what `/sessions/quota` and the list
/// report. That way a client that trusts a stale `active` gets the 429 a real platform would give.
struct PlatformModel: Sendable {
    /// A record of the idempotency store (§6).
    enum IdempotencyRecord: Sendable {
        /// The first request with this key is still being processed.
        case inFlight
        /// The first request created `sessionID` at `at` from `body`.
        case done(body: [UInt8], sessionID: String, at: Date)
    }

    /// What the model decided about a request before the route ran.
    struct Admission: Sendable {
        /// An injected fault to answer instead of running the route.
        var reply: APIReply?
        /// How long to delay the answer.
        var delay: Duration
    }

    /// The owner of sessions created through the control API: another user of the same organization.
    static let externalOwner = "external-user"
    /// How long an Idempotency-Key is remembered.
    static let idempotencyWindow: Duration = .seconds(24 * 3600)

    var configuration: SimulatorConfiguration
    var limit: Int
    var faults = SimulatorFaults()
    var tokenLimit: Int?
    var tokenUsed: Int?
    var sessions: [SimulatedSession] = []
    private var indexByID: [String: Int] = [:]
    var random: SplitMix64
    var idempotency: [String: IdempotencyRecord] = [:]
    var stats: SimulatorStats
    var serverErrorsServed = 0

    init(configuration: SimulatorConfiguration) {
        self.configuration = configuration
        self.limit = configuration.limit
        self.tokenLimit = configuration.tokenLimit
        self.tokenUsed = configuration.tokenUsed
        self.random = SplitMix64(seed: configuration.seed)
        self.stats = SimulatorStats(limit: configuration.limit)
    }

    // MARK: Lookup

    func index(of id: String) -> Int? {
        self.indexByID[id.lowercased()]
    }

    func session(_ id: String) -> SimulatedSession? {
        self.index(of: id).map { self.sessions[$0] }
    }

    // MARK: Time

    /// Settles every end due at or before `now`, oldest first, promoting queued sessions as slots free.
    mutating func advance(to now: Date) {
        while true {
            var due: (index: Int, at: Date)?
            for (index, session) in self.sessions.enumerated() {
                guard case .scheduled(let schedule) = session.stage, let endAt = schedule.endAt, endAt <= now else { continue }
                if let current = due, current.at <= endAt { continue }
                due = (index, endAt)
            }
            guard let due, case .scheduled(let schedule) = self.sessions[due.index].stage else { return }
            self.end(due.index, status: schedule.endStatus, at: due.at)
            self.promoteQueued(at: due.at)
        }
    }

    /// Makes session `index` terminal at `time`.
    mutating func end(_ index: Int, status: String, at time: Date) {
        var session = self.sessions[index]
        session.firstStartedAt = session.startedAt(at: time)
        session.answeredAt = session.answerTime(at: time) ?? (status == "completed" ? time : nil)
        session.finishedAt = time
        session.stage = .ended(status: status)
        self.sessions[index] = session
    }

    /// Moves queued sessions, oldest first, into free slots at `time`.
    mutating func promoteQueued(at time: Date) {
        for index in self.sessions.indices where self.sessions[index].stage == .queued {
            let owner = self.sessions[index].owner
            guard self.slotHolders(inScopeOf: owner, at: time) < self.limit else { continue }
            let idle = self.sessions[index].idleTimeout
            self.sessions[index].stage = .scheduled(self.makeSchedule(pendingFrom: time, idleTimeout: idle))
        }
    }

    // MARK: Counting

    /// Whether `session` counts against the limit of `owner` (scope "user": only the owner's own sessions).
    func inScope(_ session: SimulatedSession, of owner: String) -> Bool {
        self.configuration.scope != "user" || session.owner == owner
    }

    /// Sessions that hold a slot (non-terminal and not queued) in `owner`'s scope, lag-hidden ones included.
    func slotHolders(inScopeOf owner: String, at now: Date) -> Int {
        self.sessions.reduce(0) { count, session in
            let holds = session.stage != .queued && session.isNonTerminal(at: now) && self.inScope(session, of: owner)
            return holds ? count + 1 : count
        }
    }

    /// The count a create by `owner` is checked against: `active` without the lag.
    func enforcedActive(for owner: String, at now: Date) -> Int {
        self.sessions.reduce(0) { count, session in
            self.countsAsActive(session, for: owner, at: now) ? count + 1 : count
        }
    }

    /// Whether `session` is part of `active` for `owner`, ignoring the lag.
    func countsAsActive(_ session: SimulatedSession, for owner: String, at now: Date) -> Bool {
        guard session.isNonTerminal(at: now), self.inScope(session, of: owner) else { return false }
        return self.configuration.queuedCountsAsActive || session.stage != .queued
    }

    /// Whether `session` already shows in `active` and the list.
    func isVisible(_ session: SimulatedSession, at now: Date) -> Bool {
        now >= session.createdAt.adding(self.configuration.activeLag)
    }

    /// Non-terminal sessions of every owner, queued and hidden ones included.
    func nonTerminalCount(at now: Date) -> Int {
        self.sessions.reduce(0) { $1.isNonTerminal(at: now) ? $0 + 1 : $0 }
    }

    /// Records the peak after a change that may have raised the number of non-terminal sessions.
    mutating func notePeak(at now: Date) {
        self.stats.peakNonTerminal = max(self.stats.peakNonTerminal, self.nonTerminalCount(at: now))
    }

    // MARK: Creation and scheduling

    /// Adds a session and returns its index.
    mutating func addSession(owner: String, request: JSONValue, queued: Bool, fixedRun: Duration? = nil, at now: Date) -> Int {
        let id = self.random.uuid()
        let idle = request["idle_timeout_s"]?.intValue.map { Duration.seconds($0) }
        let stage: SimulatedSession.Stage =
            queued ? .queued : .scheduled(self.makeSchedule(pendingFrom: now, idleTimeout: idle, fixedRun: fixedRun))
        let session = SimulatedSession(
            id: id,
            sequence: self.sessions.count,
            owner: owner,
            request: request,
            idleTimeout: idle,
            createdAt: now,
            stage: stage
        )
        self.indexByID[id] = self.sessions.count
        self.sessions.append(session)
        self.notePeak(at: now)
        return self.sessions.count - 1
    }

    /// A schedule that starts pending at `start`; `fixedRun` replaces the drawn run length when given.
    mutating func makeSchedule(pendingFrom start: Date, idleTimeout: Duration?, fixedRun: Duration? = nil) -> SimulatedSession.Schedule {
        let runningAt = start.adding(self.configuration.pendingDuration)
        return self.makeSchedule(runningFrom: runningAt, idleTimeout: idleTimeout, fixedRun: fixedRun)
    }

    /// A schedule that is running from `start`; `fixedRun` replaces the drawn run length when given.
    mutating func makeSchedule(runningFrom start: Date, idleTimeout: Duration?, fixedRun: Duration? = nil) -> SimulatedSession.Schedule {
        let drawn = self.drawRun()
        let length = fixedRun ?? drawn
        let answerAt = length.map { start.adding($0) }
        let endAt = answerAt.map { answer in idleTimeout.map { answer.adding($0) } ?? answer }
        return .init(runningAt: start, answerAt: answerAt, endAt: endAt, endStatus: self.drawEndStatus())
    }

    mutating func drawRun() -> Duration? {
        guard let range = self.configuration.runDuration else { return nil }
        let span = (range.upperBound - range.lowerBound).nanoseconds
        guard span > 0 else { return range.lowerBound }
        let offset = Int64(bitPattern: self.random.next() % UInt64(span + 1))
        return range.lowerBound + .nanoseconds(offset)
    }

    mutating func drawEndStatus() -> String {
        guard !self.configuration.endStatuses.isEmpty else { return "completed" }
        let pick = Int(self.random.next() % UInt64(self.configuration.endStatuses.count))
        return self.configuration.endStatuses[pick]
    }
}

extension Date {
    /// This date moved by `duration`.
    func adding(_ duration: Duration) -> Date {
        self.addingTimeInterval(duration.timeInterval)
    }

    /// ISO 8601 in UTC with milliseconds, the way the platform writes times.
    var iso8601: String {
        self.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension Duration {
    /// Seconds as a floating-point number.
    var timeInterval: TimeInterval {
        let parts = self.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// Whole nanoseconds.
    var nanoseconds: Int64 {
        let parts = self.components
        return parts.seconds &* 1_000_000_000 &+ parts.attoseconds / 1_000_000_000
    }

    /// A duration from seconds expressed as a `TimeInterval`.
    static func interval(_ seconds: TimeInterval) -> Duration {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}
