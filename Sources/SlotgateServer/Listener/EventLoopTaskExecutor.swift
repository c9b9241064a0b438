//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore

/// Runs tasks on a SwiftNIO event loop: a request's task (and the gatekeeper's code it calls, the gatekeeper being
/// a default actor, SE-0417) runs on the thread that read the request and writes the answer, instead of hopping to
/// the global pool and back. That is two thread wake-ups less per request.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}

/// One task executor per event loop of a group.
struct EventLoopTaskExecutors: Sendable {
    private let executors: [ObjectIdentifier: EventLoopTaskExecutor]

    init(_ group: any EventLoopGroup) {
        var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for eventLoop in group.makeIterator() { executors[ObjectIdentifier(eventLoop)] = EventLoopTaskExecutor(eventLoop) }
        self.executors = executors
    }

    /// The executor of `eventLoop`, or nil for a loop of another group (the task then runs on the global pool).
    func executor(for eventLoop: any EventLoop) -> EventLoopTaskExecutor? {
        executors[ObjectIdentifier(eventLoop)]
    }
}
