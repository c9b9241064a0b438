//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import ServiceLifecycle
import SlotgateCore
import Synchronization

/// The service that keeps the gatekeeper's view of the platform fresh (design.md "Polling").
///
/// A poll is one quota read, sent at the snapshot's `sentAt`, followed by one listing of the non-terminal
/// sessions (`owner` chosen by the quota's scope) while the gatekeeper tracks sessions or has waiters; an idle
/// poll is the quota alone. Polls run at the pace the observer asks for, at once on `UpstreamWork.pollNow` (requests
/// coalesce: at most one poll in flight, and any number of requests during it cause one follow-up), and
/// back off with full jitter while they fail. The token quota is read at most once per token interval.
/// Session status reads and cancels run beside the polls, deduplicated and with bounded concurrency.
///
/// Platform calls per interval do not depend on how many leases or waiters the gatekeeper holds: the
/// poller never iterates them; only explicit `confirmSession`/`cancelSession` work reads single sessions.
///
/// ```swift
/// let poller = UpstreamPoller(client: client, observer: gatekeeper, work: gatekeeper.upstreamWork,
///                             settings: PollerSettings(), clock: WallClock(), logger: logger)
/// let group = ServiceGroup(services: [gatekeeper, poller], logger: logger)
/// ```
public struct UpstreamPoller: Service {
    let client: any PlatformClient
    let observer: any PlatformObserver
    let work: AsyncStream<UpstreamWork>
    let settings: PollerSettings
    let clock: PollerClock
    let logger: Logger
    let wake = WakeSignal()
    /// Raised when the gatekeeper's pace changed: re-read the pace, without asking for a poll.
    let paceSignal = WakeSignal()
    let queue: SessionWorkQueue
    let state: SharedState

    /// Creates a poller.
    /// - Parameters:
    ///   - client: the platform client (an ``AGPClient`` in production).
    ///   - observer: what the poller reports to (the gatekeeper).
    ///   - work: the gatekeeper's requests: poll now, confirm a session, cancel a session.
    ///   - settings: intervals and backoff.
    ///   - clock: the clock for `sentAt`, intervals and backoff (`WallClock` in production).
    ///   - logger: the logger.
    public init<C: Clock>(
        client: some PlatformClient,
        observer: some PlatformObserver,
        work: AsyncStream<UpstreamWork>,
        settings: PollerSettings = PollerSettings(),
        clock: C,
        logger: Logger
    ) where C.Instant == Timestamp {
        self.client = client
        self.observer = observer
        self.work = work
        self.settings = settings
        self.clock = PollerClock(clock)
        self.logger = logger
        self.queue = SessionWorkQueue(limit: settings.maxConcurrentSessionWork)
        self.state = SharedState()
    }

    /// Runs the poll loop and the work loop until graceful shutdown or cancellation.
    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.pollLoop() }
                group.addTask { await self.workLoop() }
            }
        }
        logger.debug("Upstream poller stopped")
    }

    /// Changes the intervals and backoff (a configuration reload); the poll loop takes them at its next turn.
    /// - Parameter settings: the new settings.
    public func update(settings: PollerSettings) {
        state.pendingSettings.withLock { $0 = settings }
        wake.signal()
    }

    /// Asks for a poll now, as `UpstreamWork.pollNow` does.
    public func pollNow() {
        wake.signal()
    }

    /// The poller's health.
    public var status: PollerStatus {
        state.status.withLock { $0 }
    }

    /// When the last successful poll was sent, if any succeeded.
    public var lastGoodReadingAt: Timestamp? {
        status.lastGoodReadingAt
    }

    /// How old the last successful reading is now (measured from its `sentAt`); nil before the first.
    public var lastGoodReadingAge: Duration? {
        lastGoodReadingAt.map { $0.duration(to: clock.now()) }
    }

    // MARK: Poll loop

    private func pollLoop() async {
        var schedule = PollSchedule(now: clock.now(), settings: settings)
        var scope: QuotaScope?
        while !Task.isCancelled {
            if let updated = state.pendingSettings.withLock({ pending -> PollerSettings? in
                defer { pending = nil }
                return pending
            }) {
                schedule.settings = updated
            }
            if paceSignal.consume() { schedule.paceChanged(to: await observer.pollingPace()) }
            if wake.consume() { schedule.requestPoll() }
            if schedule.isPollDue(at: clock.now()) {
                await poll(&schedule, scope: &scope)
                continue
            }
            if schedule.areTokensDue(at: clock.now()) {
                await readTokens(&schedule)
                continue
            }
            let deadline = schedule.nextWake
            if clock.now() < deadline {
                switch await waitForWake(until: deadline) {
                case .poll: schedule.requestPoll()
                case .pace: schedule.paceChanged(to: await observer.pollingPace())
                case .timer: break
                }
            }
        }
    }

    private enum Wake: Sendable {
        /// The deadline came.
        case timer
        /// A poll was asked for.
        case poll
        /// The gatekeeper's pace changed.
        case pace
    }

    /// Sleeps until `deadline`, a poll request or a pace change, whichever comes first.
    private func waitForWake(until deadline: Timestamp) async -> Wake {
        let clock = clock
        let wake = wake
        let paceSignal = paceSignal
        return await withTaskGroup(of: Wake?.self) { group in
            group.addTask {
                try? await clock.sleep(until: deadline)
                return .timer
            }
            group.addTask { await wake.wait() ? .poll : nil }
            group.addTask { await paceSignal.wait() ? .pace : nil }
            let first = await group.next() ?? .timer
            group.cancelAll()
            return first ?? .timer
        }
    }

    private func poll(_ schedule: inout PollSchedule, scope: inout QuotaScope?) async {
        let sentAt = clock.now()
        schedule.pollStarted(at: sentAt)
        state.status.withLock { $0.polls += 1 }
        var logger = logger
        do {
            // The quota first, then the list (PlatformSnapshot explains why this order). An idle daemon tracks no
            // session: the quota alone is the reading, one call per interval.
            let quota = try await client.sessionQuota()
            scope = quota.scope
            var sessions: [ListedSession]? = nil
            var ended: [(id: String, status: SessionStatus?, sentAt: Timestamp)] = []
            var complete = true
            if await observer.needsSessionList() {
                sessions = try await listSessions(owner: .matching(quota.scope))
                if sessions == nil {
                    // The platform refuses the list: status reads of the tracked sessions, sent after the quota
                    // request, stand in for it, a few per poll (design.md "Slot accounting").
                    complete = false
                    (sessions, ended) = await readTrackedSessions()
                }
            }
            let snapshot = PlatformSnapshot(sentAt: sentAt, quota: quota, sessions: sessions, sessionsComplete: complete)
            await observer.observe(snapshot)
            for session in ended {
                await observer.observeSession(session.id, status: session.status, at: session.sentAt)
            }
            state.status.withLock { status in
                status.lastGoodReadingAt = sentAt
                status.lastQuota = quota
                status.consecutiveFailures = 0
                status.lastFailure = nil
            }
            let pace = await observer.pollingPace()
            schedule.pollSucceeded(sentAt: sentAt, pace: pace)
            logger[metadataKey: "agp.active"] = "\(quota.active)"
            logger[metadataKey: "agp.limit"] = "\(quota.limit)"
            logger[metadataKey: "agp.listed"] = "\(sessions.map { String($0.count) } ?? "none")"
            logger.trace("Poll succeeded")
        } catch {
            if Task.isCancelled { return }
            let now = clock.now()
            let agpError = error as? AGPError
            schedule.pollFailed(at: now, retryAfter: agpError?.retryAfter)
            let reason = agpError.map { String(describing: $0) } ?? "unexpected error (\(type(of: error)))"
            let failures = schedule.pollFailures
            state.status.withLock { status in
                status.consecutiveFailures = failures
                status.lastFailure = reason
            }
            logger[metadataKey: "agp.failures"] = "\(failures)"
            logger[metadataKey: "agp.retry_in_ms"] = "\(now.duration(to: schedule.nextPollAt).milliseconds)"
            logger[metadataKey: "agp.error"] = "\(reason)"
            logger.warning("Poll failed")
            await observer.observePollFailure(reason, at: now)
        }
    }

    /// Lists the non-terminal sessions; a permanent refusal of the list (a 4xx other than 408/429)
    /// gives nil so the quota still counts, while transient failures fail the poll.
    private func listSessions(owner: ListOwner) async throws -> [ListedSession]? {
        do {
            let sessions = try await client.nonTerminalSessions(owner: owner)
            let wasRefused = state.listRefused.withLock { refused in
                defer { refused = false }
                return refused
            }
            if wasRefused { logger.notice("The platform lists the sessions again") }
            return sessions
        } catch let error as AGPError where !error.isTransient && error.status != 401 {
            let first = state.listRefused.withLock { refused in
                defer { refused = true }
                return !refused
            }
            if first {
                var logger = logger
                logger[metadataKey: "agp.error"] = "\(error)"
                logger.warning("The platform refused the session list; reading tracked sessions' status instead")
            }
            return nil
        }
    }

    /// Reads the status of the tracked sessions seen least recently, at most
    /// ``PollerSettings/statusReadsWithoutList`` per poll. A read that fails leaves its session unknown (counted on
    /// top of `active`) until a later poll.
    private func readTrackedSessions() async -> (found: [ListedSession], ended: [(id: String, status: SessionStatus?, sentAt: Timestamp)]) {
        var found: [ListedSession] = []
        var ended: [(id: String, status: SessionStatus?, sentAt: Timestamp)] = []
        for id in await observer.sessionsToRead(limit: settings.statusReadsWithoutList) {
            let sentAt = clock.now()
            let status: SessionStatus?
            do {
                status = try await client.sessionStatus(id: id)
            } catch {
                continue
            }
            if let status, !status.isTerminal {
                found.append(ListedSession(id: id, status: status))
            } else {
                // Terminal, or 404: the platform does not know it.
                ended.append((id, status, sentAt))
            }
        }
        return (found, ended)
    }

    private func readTokens(_ schedule: inout PollSchedule) async {
        let sentAt = clock.now()
        do {
            var reading = try await client.tokenQuota()
            reading.sentAt = sentAt
            await observer.observeTokens(reading)
            schedule.tokensSucceeded(sentAt: sentAt)
        } catch {
            if Task.isCancelled { return }
            let agpError = error as? AGPError
            schedule.tokensFailed(at: clock.now(), retryAfter: agpError?.retryAfter, transient: agpError?.isTransient ?? true)
            var logger = logger
            logger[metadataKey: "agp.failures"] = "\(schedule.tokenFailures)"
            logger[metadataKey: "agp.error"] = "\(agpError.map { String(describing: $0) } ?? "unexpected error")"
            logger.warning("Token quota read failed")
        }
    }
}

extension UpstreamPoller {
    /// State shared between the loops and readers of ``status``.
    final class SharedState: Sendable {
        let status = Mutex(PollerStatus())
        let listRefused = Mutex(false)
        /// Intervals set by a reload, picked up by the poll loop at its next turn.
        let pendingSettings = Mutex<PollerSettings?>(nil)
    }
}

/// The injected clock, reduced to what the poller uses.
struct PollerClock: Sendable {
    let now: @Sendable () -> Timestamp
    private let sleepUntil: @Sendable (Timestamp) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Instant == Timestamp {
        self.now = { clock.now }
        self.sleepUntil = { try await clock.sleep(until: $0, tolerance: nil) }
    }

    func sleep(until deadline: Timestamp) async throws {
        try await sleepUntil(deadline)
    }
}
