//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// Core benchmarks: the cost of picking the next grant and of cancelling a waiter with 10,000 waiters across
// 1,000 holders, and a full grant cycle through the state machine.

import SlotgateCore

let start = Timestamp(millisecondsSinceEpoch: 1_795_953_600_000)

/// The core's own costs, in process: picking a grant, cancelling a waiter, a full grant cycle.
func runCoreBenchmarks() {

    func waiters(_ count: Int, holders: Int, random: inout SplitMix64) -> [Lease] {
        (0..<count).map { index in
            Lease(
                id: LeaseID(time: start.advanced(by: .milliseconds(Int64(index))), random: &random),
                holder: "holder-\(index % holders)",
                uid: 1000,
                gid: 1000,
                pid: 1,
                priority: index % 3 - 1,
                claimTTL: .seconds(60),
                requestedAt: start,
                host: "bench"
            )
        }
    }

    let clock = ContinuousClock()
    var random = SplitMix64(seed: 1)

    // 1. Picking the next grant from a queue of 10,000 waiters across 1,000 holders, with the holder's count
    //    updated after each grant (the order then changes), until the queue is empty.
    do {
        var queue = WaitQueue()
        for lease in waiters(10_000, holders: 1_000, random: &random) { queue.enqueue(lease, deadline: start.advanced(by: .seconds(300))) }
        var held: [HolderKey: Int] = [:]
        var samples: [Duration] = []
        samples.reserveCapacity(10_000)
        while true {
            let began = clock.now
            guard let waiter = queue.popFirst() else { break }
            held[waiter.lease.holderKey, default: 0] += 1
            queue.setHeld(held[waiter.lease.holderKey, default: 0], for: waiter.lease.holderKey)
            samples.append(began.duration(to: clock.now))
        }
        report("pick next grant (10,000 waiters, 1,000 holders, drained)", samples)
    }

    // 2. Picking with the queue held at 10,000 waiters: each grant is followed by a new arrival.
    do {
        var queue = WaitQueue()
        var pool = waiters(20_000, holders: 1_000, random: &random)
        for lease in pool.prefix(10_000) { queue.enqueue(lease, deadline: nil) }
        pool.removeFirst(10_000)
        var held: [HolderKey: Int] = [:]
        var samples: [Duration] = []
        for lease in pool {
            let began = clock.now
            guard let waiter = queue.popFirst() else { break }
            held[waiter.lease.holderKey, default: 0] += 1
            queue.setHeld(held[waiter.lease.holderKey, default: 0], for: waiter.lease.holderKey)
            samples.append(began.duration(to: clock.now))
            queue.enqueue(lease, deadline: nil)
        }
        report("pick next grant (steady 10,000 waiters, 1,000 holders)", samples)
    }

    // 3. Cancelling waiters (a client that went away) from a queue of 10,000.
    do {
        var queue = WaitQueue()
        let leases = waiters(10_000, holders: 1_000, random: &random)
        for lease in leases { queue.enqueue(lease, deadline: nil) }
        var order = leases.map(\.id)
        order.shuffle(using: &random)
        var samples: [Duration] = []
        for id in order.prefix(5_000) {
            let began = clock.now
            queue.remove(id)
            samples.append(began.duration(to: clock.now))
        }
        report("cancel a waiter (10,000 waiters)", samples)
    }

    // 4. The whole state machine: 10,000 parked requests over 1,000 holders against limit 10; each session end
    //    frees a slot and grants the next request (accounting, ordering, persistence actions included).
    do {
        var settings = GatekeeperSettings()
        settings.maxWaiters = 20_000
        var machine = GatekeeperStateMachine(settings: settings, host: "bench", seed: 7)
        var now = start
        _ = machine.observe(
            PlatformSnapshot(sentAt: now, quota: QuotaReading(scope: .org, limit: 10, active: 0), sessions: []),
            now: now
        )
        var sessions: [String] = []
        var next = 0
        func bindGrants(_ actions: [GatekeeperAction]) {
            for case .grant(let lease) in actions {
                next += 1
                let session = "s\(next)"
                _ = try? machine.bind(lease.id, to: session, now: now)
                sessions.append(session)
            }
        }
        for index in 0..<10_010 {
            let (_, actions) = machine.acquire(
                AcquireRequest(holder: "holder-\(index % 1_000)", uid: 1000, priority: index % 3 - 1, wait: .seconds(3600)),
                now: now
            )
            bindGrants(actions)
        }
        var samples: [Duration] = []
        while !sessions.isEmpty {
            now = now.advanced(by: .milliseconds(1))
            let ended = sessions.removeFirst()
            let began = clock.now
            let actions = machine.observeSession(ended, status: .completed, at: now, now: now)
            samples.append(began.duration(to: clock.now))
            bindGrants(actions)
        }
        report("session end → next grant through the state machine (10,000 waiters, limit 10)", samples)
    }

}
