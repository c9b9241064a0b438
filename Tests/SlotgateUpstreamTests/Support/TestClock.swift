//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Synchronization

/// A manual clock whose sleepers tests can wait for, so a test knows when the code under test is parked.
final class TestClock: Clock, Sendable {
    typealias Instant = Timestamp
    typealias Duration = Swift.Duration

    private struct Sleeper {
        var deadline: Timestamp
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct Watcher {
        var isSatisfied: @Sendable (_ sleepers: Int, _ registrations: Int) -> Bool
        var continuation: CheckedContinuation<Void, Never>
    }

    private struct State {
        var now: Timestamp
        var sleepers: [UInt64: Sleeper] = [:]
        var watchers: [Watcher] = []
        var nextID: UInt64 = 0
        var registrations = 0

        mutating func readyWatchers() -> [CheckedContinuation<Void, Never>] {
            let (count, registrations) = (sleepers.count, registrations)
            let ready = watchers.filter { $0.isSatisfied(count, registrations) }.map(\.continuation)
            watchers.removeAll { $0.isSatisfied(count, registrations) }
            return ready
        }
    }

    private let state: Mutex<State>

    init(start: Timestamp = Timestamp(millisecondsSinceEpoch: 1_795_953_600_000)) {
        self.state = Mutex(State(now: start))
    }

    var now: Timestamp { state.withLock { $0.now } }

    var minimumResolution: Swift.Duration { .nanoseconds(1) }

    /// Tasks sleeping now.
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// How many sleeps have been registered (not resumed at once) since the clock was made.
    var registrations: Int { state.withLock { $0.registrations } }

    /// The earliest deadline among the sleepers.
    var nextDeadline: Timestamp? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    func sleep(until deadline: Timestamp, tolerance: Swift.Duration?) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (resumeNow, ready) = self.state.withLock { state -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if deadline <= state.now { return (true, []) }
                    if Task.isCancelled { return (true, []) }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    state.registrations += 1
                    return (false, state.readyWatchers())
                }
                for watcher in ready { watcher.resume() }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = self.state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves the clock forward and wakes every sleeper whose deadline has come.
    func advance(by duration: Swift.Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Returns once at least `count` tasks sleep on the clock.
    func waitForSleepers(_ count: Int = 1) async {
        await waitUntil { sleepers, _ in sleepers >= count }
    }

    /// Returns once `count` sleeps in all have been registered, and at least one task sleeps.
    func waitForRegistrations(_ count: Int) async {
        await waitUntil { sleepers, registrations in registrations >= count && sleepers >= 1 }
    }

    private func waitUntil(_ isSatisfied: @escaping @Sendable (_ sleepers: Int, _ registrations: Int) -> Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if isSatisfied(state.sleepers.count, state.registrations) { return true }
                state.watchers.append(Watcher(isSatisfied: isSatisfied, continuation: continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
