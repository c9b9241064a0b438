//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

@Suite struct WaitQueueTests {
    var random = SplitMix64(seed: 3)
    var clock = Fixture.start

    mutating func lease(_ holder: String, uid: UInt32 = 1000, priority: Int = 0) -> Lease {
        clock = clock + .milliseconds(1)
        return Lease(
            id: LeaseID(time: clock, random: &random),
            holder: holder,
            uid: uid,
            gid: uid,
            pid: 1,
            priority: priority,
            claimTTL: .seconds(60),
            requestedAt: clock,
            host: "x"
        )
    }

    @Test mutating func higherPriorityFirstThenArrival() {
        var queue = WaitQueue()
        let low = lease("a", priority: -1)
        let first = lease("b")
        let high = lease("c", priority: 5)
        let second = lease("d")
        for item in [low, first, high, second] { queue.enqueue(item, deadline: nil) }
        let order = [queue.popFirst(), queue.popFirst(), queue.popFirst(), queue.popFirst()].map { $0?.lease.id }
        #expect(order == [high.id, first.id, second.id, low.id])
        #expect(queue.popFirst() == nil)
    }

    @Test mutating func theHolderWithFewestLeasesGoesFirst() {
        var queue = WaitQueue()
        let busy = lease("busy")
        let idle = lease("idle")
        queue.enqueue(busy, deadline: nil)
        queue.enqueue(idle, deadline: nil)
        queue.setHeld(2, for: busy.holderKey)
        #expect(queue.popFirst()?.lease.id == idle.id)
        #expect(queue.popFirst()?.lease.id == busy.id)
    }

    @Test mutating func holdersAreUIDPlusHolderString() {
        var queue = WaitQueue()
        let a1 = lease("same", uid: 1)
        let a2 = lease("same", uid: 1)
        let b1 = lease("same", uid: 2)
        for item in [a1, a2, b1] { queue.enqueue(item, deadline: nil) }
        // uid 1 already holds one lease after its first grant, so uid 2 goes before uid 1's second.
        let first = queue.popFirst()
        queue.setHeld(1, for: a1.holderKey)
        #expect(first?.lease.id == a1.id)
        #expect(queue.popFirst()?.lease.id == b1.id)
        #expect(queue.popFirst()?.lease.id == a2.id)
    }

    @Test mutating func fairnessInterleavesHoldersAsGrantsHappen() {
        var queue = WaitQueue()
        var held: [HolderKey: Int] = [:]
        for _ in 0..<3 { queue.enqueue(lease("batch"), deadline: nil) }
        let other = lease("other")
        queue.enqueue(other, deadline: nil)
        var order: [String] = []
        while let waiter = queue.popFirst() {
            order.append(waiter.lease.holder)
            held[waiter.lease.holderKey, default: 0] += 1
            queue.setHeld(held[waiter.lease.holderKey, default: 0], for: waiter.lease.holderKey)
        }
        #expect(order == ["batch", "other", "batch", "batch"])
    }

    /// Issue 14: requests without a holder are not one shared bucket: each peer uid is a holder of its own, so one
    /// user's many holderless jobs do not starve another user's.
    @Test mutating func holderlessRequestsAreFairPerUID() {
        var queue = WaitQueue()
        var held: [HolderKey: Int] = [:]
        for _ in 0..<3 { queue.enqueue(lease("", uid: 1000), deadline: nil) }
        queue.enqueue(lease("", uid: 1001), deadline: nil)
        var order: [UInt32] = []
        while let waiter = queue.popFirst() {
            order.append(waiter.lease.uid)
            held[waiter.lease.holderKey, default: 0] += 1
            queue.setHeld(held[waiter.lease.holderKey, default: 0], for: waiter.lease.holderKey)
        }
        #expect(order == [1000, 1001, 1000, 1000])
    }

    @Test mutating func requestsSentBackGoToTheHeadOfTheirPriority() {
        var queue = WaitQueue()
        let first = lease("a")
        let back = lease("b")
        let high = lease("c", priority: 3)
        queue.enqueue(first, deadline: nil)
        queue.setHeld(5, for: back.holderKey)
        queue.enqueue(back, deadline: nil, atHead: true)
        queue.enqueue(high, deadline: nil)
        #expect(queue.popFirst()?.lease.id == high.id)
        #expect(queue.popFirst()?.lease.id == back.id)
        #expect(queue.popFirst()?.lease.id == first.id)
    }

    @Test mutating func cancellingRemovesAWaiterAndKeepsTheOrder() {
        var queue = WaitQueue()
        let items = (0..<5).map { _ in lease("a") }
        for item in items { queue.enqueue(item, deadline: nil) }
        #expect(queue.remove(items[0].id) != nil)
        #expect(queue.remove(items[3].id) != nil)
        #expect(queue.remove(items[3].id) == nil)
        #expect(queue.count == 3)
        #expect(queue.waiting(for: items[0].holderKey) == 3)
        #expect(queue.ordered().map(\.lease.id) == [items[1].id, items[2].id, items[4].id])
        #expect([queue.popFirst(), queue.popFirst(), queue.popFirst()].map { $0?.lease.id } == [items[1].id, items[2].id, items[4].id])
    }

    @Test mutating func deadlinesPopInOrderAndSkipRemovedWaiters() {
        var queue = WaitQueue()
        let a = lease("a")
        let b = lease("b")
        let c = lease("c")
        queue.enqueue(a, deadline: Fixture.start + .seconds(5))
        queue.enqueue(b, deadline: Fixture.start + .seconds(1))
        queue.enqueue(c, deadline: Fixture.start + .seconds(3))
        queue.remove(b.id)
        #expect(queue.nextDeadline() == Fixture.start + .seconds(3))
        #expect(queue.popExpired(now: Fixture.start + .seconds(4)).map(\.lease.id) == [c.id])
        #expect(queue.count == 1)
    }

    /// `ordered()` (positions) must agree with the order grants really happen in, across random operations.
    @Test func orderedMatchesPopOrder() {
        for seed in 0..<200 {
            var rng = SplitMix64(seed: UInt64(seed))
            var queue = WaitQueue()
            var ids: [LeaseID] = []
            var time = Fixture.start
            for step in 0..<60 {
                time = time + .milliseconds(1)
                let holder = "h\(Int.random(in: 0..<5, using: &rng))"
                let lease = Lease(
                    id: LeaseID(time: time, random: &rng),
                    holder: holder,
                    uid: 1,
                    gid: 1,
                    pid: 1,
                    priority: Int.random(in: -1...1, using: &rng),
                    claimTTL: .seconds(1),
                    requestedAt: time,
                    host: "x"
                )
                queue.enqueue(lease, deadline: nil, atHead: step % 17 == 0)
                ids.append(lease.id)
                if Bool.random(using: &rng), let victim = ids.randomElement(using: &rng) { queue.remove(victim) }
                if Int.random(in: 0..<5, using: &rng) == 0 {
                    queue.setHeld(Int.random(in: 0..<4, using: &rng), for: HolderKey(uid: 1, holder: holder))
                }
            }
            let predicted = queue.ordered().map(\.lease.id)
            var popped: [LeaseID] = []
            var held: [HolderKey: Int] = [:]
            for key in (0..<5).map({ HolderKey(uid: 1, holder: "h\($0)") }) { held[key] = queue.held(by: key) }
            while let waiter = queue.popFirst() {
                popped.append(waiter.lease.id)
                held[waiter.lease.holderKey, default: 0] += 1
                queue.setHeld(held[waiter.lease.holderKey, default: 0], for: waiter.lease.holderKey)
            }
            #expect(predicted == popped, "seed \(seed)")
        }
    }

    @Test mutating func tenThousandWaitersAcrossAThousandHolders() {
        var queue = WaitQueue()
        var held: [HolderKey: Int] = [:]
        for index in 0..<10_000 {
            queue.enqueue(lease("holder-\(index % 1000)", priority: index % 3 - 1), deadline: Fixture.start + .seconds(300))
        }
        #expect(queue.count == 10_000)
        var previousPriority = Int.max
        var granted = 0
        while let waiter = queue.popFirst() {
            #expect(waiter.lease.priority <= previousPriority)
            previousPriority = waiter.lease.priority
            held[waiter.lease.holderKey, default: 0] += 1
            queue.setHeld(held[waiter.lease.holderKey, default: 0], for: waiter.lease.holderKey)
            granted += 1
        }
        #expect(granted == 10_000)
    }

    /// Issue 12, hole 8: a fleet host's waiter that the fleet lost during a database outage goes back at its place
    /// by arrival time, not at the tail.
    @Test func aReturningWaiterGoesBackByArrival() {
        var queue = WaitQueue()
        let start = Timestamp(millisecondsSinceEpoch: 1_795_953_600_000)
        var generator = SplitMix64(seed: 7)
        func lease(_ name: String, at seconds: Int64) -> Lease {
            Lease(
                id: LeaseID(time: start, random: &generator),
                holder: name,
                uid: 1000,
                gid: 1000,
                pid: 1,
                priority: 0,
                claimTTL: .seconds(60),
                requestedAt: start.advanced(by: .seconds(seconds)),
                host: "h"
            )
        }
        let first = lease("a", at: 0)
        let third = lease("c", at: 20)
        queue.enqueue(first, deadline: nil)
        queue.enqueue(third, deadline: nil)
        let back = lease("b", at: 10)
        queue.enqueueByArrival(back, deadline: nil)
        #expect(queue.ordered().map(\.lease.holder) == ["a", "b", "c"])
        let late = lease("d", at: 30)
        queue.enqueueByArrival(late, deadline: nil)
        #expect(queue.ordered().map(\.lease.holder) == ["a", "b", "c", "d"])
        let earliest = lease("e", at: -10)
        queue.enqueueByArrival(earliest, deadline: nil)
        #expect(queue.ordered().map(\.lease.holder) == ["e", "a", "b", "c", "d"])
        #expect(queue.popFirst()?.lease.holder == "e")
    }
}
