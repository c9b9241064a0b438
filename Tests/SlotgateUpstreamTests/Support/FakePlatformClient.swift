//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import SlotgateUpstream

/// A scripted platform for poller tests: records every call with the clock's time, answers from
/// settable values, fails on demand and can hold calls until a test releases them.
actor FakePlatformClient: PlatformClient {
    enum Call: Sendable, Hashable {
        case quota
        case tokens
        case list(ListOwner)
        case status(String)
        case cancel(String)

        var kind: String {
            switch self {
            case .quota: "quota"
            case .tokens: "tokens"
            case .list: "list"
            case .status: "status"
            case .cancel: "cancel"
            }
        }
    }

    let clock: TestClock
    /// How far each call moves the clock, so calls have distinct times.
    let tickPerCall: Duration

    var quota = QuotaReading(scope: .org, limit: 10, active: 0)
    var sessions: [ListedSession] = []
    var statuses: [String: SessionStatus] = [:]
    var tokens = TokenReading(limit: 100, used: 10, remaining: nil, windowStart: nil, windowEnd: nil, sentAt: .distantPast)
    private(set) var calls: [(call: Call, at: Timestamp)] = []
    private var failures: [String: [AGPError]] = [:]
    private var holding: Set<String> = []
    private var held: [CheckedContinuation<Void, Never>] = []
    private var running: [String: Int] = [:]
    private(set) var maxRunning: [String: Int] = [:]
    private var watchers: [(kind: String, count: Int, continuation: CheckedContinuation<Void, Never>)] = []

    init(clock: TestClock, tickPerCall: Duration = .zero) {
        self.clock = clock
        self.tickPerCall = tickPerCall
    }

    /// Returns once at least `count` calls of `kind` have started.
    func waitUntil(_ kind: String, count: Int) async {
        guard self.count(kind) < count else { return }
        await withCheckedContinuation { watchers.append((kind, count, $0)) }
    }

    func set(quota: QuotaReading) { self.quota = quota }
    func set(sessions: [ListedSession]) { self.sessions = sessions }
    func set(status: SessionStatus?, for id: String) { statuses[id] = status }

    /// The next calls of `kind` fail with these errors, in order.
    func fail(_ kind: String, with errors: [AGPError]) {
        failures[kind, default: []] += errors
    }

    /// Holds calls of `kind` until ``release(_:)``.
    func hold(_ kind: String) { holding.insert(kind) }

    func release(_ kind: String) {
        holding.remove(kind)
        let waiting = held
        held = []
        for continuation in waiting { continuation.resume() }
    }

    func count(_ kind: String) -> Int {
        calls.filter { $0.call.kind == kind }.count
    }

    private func enter(_ call: Call) async throws {
        if tickPerCall > .zero { clock.advance(by: tickPerCall) }
        calls.append((call, clock.now))
        let ready = watchers.filter { self.count($0.kind) >= $0.count }
        watchers.removeAll { self.count($0.kind) >= $0.count }
        for watcher in ready { watcher.continuation.resume() }
        running[call.kind, default: 0] += 1
        maxRunning[call.kind] = max(maxRunning[call.kind] ?? 0, running[call.kind] ?? 0)
        defer { running[call.kind, default: 1] -= 1 }
        while holding.contains(call.kind) {
            await withCheckedContinuation { held.append($0) }
        }
        if var queued = failures[call.kind], !queued.isEmpty {
            let error = queued.removeFirst()
            failures[call.kind] = queued
            throw error
        }
    }

    func sessionQuota() async throws -> QuotaReading {
        try await enter(.quota)
        return quota
    }

    func tokenQuota() async throws -> TokenReading {
        try await enter(.tokens)
        return tokens
    }

    func nonTerminalSessions(owner: ListOwner) async throws -> [ListedSession] {
        try await enter(.list(owner))
        return sessions
    }

    func sessionStatus(id: String) async throws -> SessionStatus? {
        try await enter(.status(id))
        return statuses[id]
    }

    func cancelSession(id: String) async throws -> Bool {
        try await enter(.cancel(id))
        guard statuses[id] != nil else { return false }
        statuses[id] = .interrupted
        return true
    }
}
