//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateCore

extension UpstreamPoller {
    /// Takes the gatekeeper's requests until the stream ends or the task is cancelled.
    ///
    /// `pollNow` only sets the wake signal, so the loop never waits on the platform; session work runs in
    /// child tasks, at most ``PollerSettings/maxConcurrentSessionWork`` at once.
    func workLoop() async {
        await withDiscardingTaskGroup { group in
            for await item in work {
                let job: SessionJob
                switch item {
                case .pollNow:
                    wake.signal()
                    continue
                case .paceChanged:
                    paceSignal.signal()
                    continue
                case .confirmSession(let id):
                    job = .confirm(id)
                case .cancelSession(let id):
                    job = .cancel(id)
                }
                if let start = queue.admit(job) {
                    group.addTask { await self.worker(startingWith: start) }
                }
            }
        }
    }

    /// Runs jobs until the queue has none left for this worker.
    private func worker(startingWith job: SessionJob) async {
        var next: SessionJob? = job
        while let current = next {
            await perform(current)
            next = queue.finish(current)
        }
    }

    /// Performs one job, retrying transient failures with the backoff until it succeeds or the task ends.
    ///
    /// A permanent failure (a 4xx other than 404, 408, 429) is logged and dropped; the gatekeeper asks again
    /// if it still needs the answer.
    private func perform(_ job: SessionJob) async {
        var logger = logger
        var failures = 0
        var cancelled = false
        let id: String
        switch job {
        case .confirm(let value): id = value
        case .cancel(let value): id = value
        }
        logger[metadataKey: "agp.session"] = "\(id)"
        while !Task.isCancelled {
            do {
                if case .cancel = job, !cancelled {
                    let found = try await client.cancelSession(id: id)
                    cancelled = true
                    logger[metadataKey: "agp.found"] = "\(found)"
                    logger.debug("Session cancelled")
                }
                let sentAt = clock.now()
                let status = try await client.sessionStatus(id: id)
                await observer.observeSession(id, status: status, at: sentAt)
                return
            } catch {
                if Task.isCancelled { return }
                let agpError = error as? AGPError
                logger[metadataKey: "agp.error"] = "\(agpError.map { String(describing: $0) } ?? "unexpected error")"
                guard agpError?.isTransient ?? true else {
                    logger.error("Session work failed; dropping it")
                    return
                }
                failures += 1
                let delay = settings.delay(afterFailures: failures, retryAfter: agpError?.retryAfter)
                logger[metadataKey: "agp.failures"] = "\(failures)"
                logger[metadataKey: "agp.retry_in_ms"] = "\(delay.milliseconds)"
                logger.warning("Session work failed; retrying")
                do {
                    try await clock.sleep(until: clock.now().advanced(by: delay))
                } catch {
                    return
                }
            }
        }
    }
}
