//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

/// One piece of per-session work: confirm a status, or cancel then confirm.
enum SessionJob: Sendable, Hashable {
    /// Read the status and report it.
    case confirm(String)
    /// Cancel, then read the status and report it.
    case cancel(String)
}

/// Admission of session work: duplicates dropped, at most `limit` jobs running, the rest waiting in order.
///
/// A job counts as in flight from admission until it finishes, so a repeated request for the same
/// session while one is queued or running is dropped. A confirm is also dropped while a cancel of the
/// same session is in flight, since the cancel ends with a status read; a cancel is never dropped for a confirm.
final class SessionWorkQueue: Sendable {
    private struct State {
        var inFlight: Set<SessionJob> = []
        var waiting: [SessionJob] = []
        var running = 0
    }

    private let state = Mutex(State())
    private let limit: Int

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Admits a job: returns it when a worker should start on it now, nil when it was dropped or queued.
    func admit(_ job: SessionJob) -> SessionJob? {
        state.withLock { state in
            if state.inFlight.contains(job) { return nil }
            if case .confirm(let id) = job, state.inFlight.contains(.cancel(id)) { return nil }
            state.inFlight.insert(job)
            guard state.running < limit else {
                state.waiting.append(job)
                return nil
            }
            state.running += 1
            return job
        }
    }

    /// A worker finished `job`: returns the next job for it, or nil when it should stop.
    func finish(_ job: SessionJob) -> SessionJob? {
        state.withLock { state in
            state.inFlight.remove(job)
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            // The queue stays short (it only grows while the platform is slow), so removeFirst is cheap enough.
            return state.waiting.removeFirst()
        }
    }

    /// Jobs admitted and not finished (queued or running).
    var count: Int {
        state.withLock { $0.inFlight.count }
    }
}
