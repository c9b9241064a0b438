//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateCore
import SlotgateTesting
import Synchronization
import Testing

/// A store that records writes, and can be told to fail.
final class RecordingPersistence: LeasePersistence {
    let failing = Atomic<Bool>(false)
    let written = Mutex<[Lease]>([])

    func write(_ leases: [Lease]) async throws {
        struct DiskFull: Error {}
        if failing.load(ordering: .relaxed) { throw DiskFull() }
        written.withLock { $0 += leases }
    }

    func forget(_ ids: [LeaseID]) async throws {}
}

@Suite struct GatekeeperActorTests {
    let clock = ManualClock()

    func gatekeeper(
        persistence: (any LeasePersistence)? = nil,
        configure: (inout GatekeeperSettings) -> Void = { _ in }
    ) -> Gatekeeper {
        var settings = GatekeeperSettings()
        configure(&settings)
        return Gatekeeper(settings: settings, host: "test", clock: clock, persistence: persistence, logger: Logger(label: "test"), seed: 1)
    }

    func reading(limit: Int, active: Int, sessions: [String] = []) -> PlatformSnapshot {
        PlatformSnapshot(
            sentAt: clock.now,
            quota: QuotaReading(scope: .org, limit: limit, active: active),
            sessions: sessions.map { ListedSession(id: $0, status: .running) }
        )
    }

    /// Waits, without sleeping, until the queue holds `count` waiters.
    func waitForWaiters(_ gatekeeper: Gatekeeper, _ count: Int) async {
        var version = await gatekeeper.currentQueueVersion
        while await gatekeeper.status().waiting != count {
            version = await gatekeeper.queueChange(after: version)
        }
    }

    @Test func aParkedRequestIsGrantedWhenASessionEnds() async throws {
        let gatekeeper = gatekeeper()
        await gatekeeper.observe(reading(limit: 1, active: 0))
        let first = try await gatekeeper.acquire(AcquireRequest(holder: "a", wait: .zero)).get()
        _ = try await gatekeeper.bind(first.id, to: "s1")
        await gatekeeper.observe(reading(limit: 1, active: 1, sessions: ["s1"]))
        async let second = gatekeeper.acquire(AcquireRequest(holder: "b", wait: .seconds(60)))
        await waitForWaiters(gatekeeper, 1)
        await gatekeeper.observeSession("s1", status: .completed, at: clock.now)
        let lease = try await second.get()
        #expect(lease.holder == "b")
        #expect(await gatekeeper.status().waiting == 0)
    }

    @Test func aCancelledRequestLeavesTheQueueAndTheSlotGoesOn() async throws {
        let gatekeeper = gatekeeper()
        await gatekeeper.observe(reading(limit: 1, active: 1, sessions: ["busy"]))
        let gone = Task { await gatekeeper.acquire(AcquireRequest(holder: "gone", wait: .seconds(60))) }
        await waitForWaiters(gatekeeper, 1)
        async let stays = gatekeeper.acquire(AcquireRequest(holder: "stays", wait: .seconds(60)))
        await waitForWaiters(gatekeeper, 2)
        gone.cancel()
        await waitForWaiters(gatekeeper, 1)
        #expect(await gone.value == .failure(.waitTimeout))
        await gatekeeper.observe(reading(limit: 1, active: 0))
        #expect(try await stays.get().holder == "stays")
    }

    @Test func theTimerAnswersAWaiterWhoseWaitRunsOut() async throws {
        let gatekeeper = gatekeeper()
        await gatekeeper.observe(reading(limit: 0, active: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gatekeeper.run() }
            async let result = gatekeeper.acquire(AcquireRequest(wait: .seconds(5)))
            await waitForWaiters(gatekeeper, 1)
            while clock.sleeperCount == 0 { await Task.yield() }
            clock.advance(by: .seconds(5))
            #expect(await result == .failure(.waitTimeout))
            await gatekeeper.shutdown()
            try await group.next()
        }
    }

    @Test func theTimerExpiresUnboundLeases() async throws {
        let gatekeeper = gatekeeper { $0.claimTTL = .seconds(10) }
        await gatekeeper.observe(reading(limit: 1, active: 0))
        let lease = try await gatekeeper.acquire(AcquireRequest(wait: .zero)).get()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await gatekeeper.run() }
            while clock.sleeperCount == 0 { await Task.yield() }
            clock.advance(by: .seconds(10))
            while await gatekeeper.lease(lease.id)?.state != .expired { await Task.yield() }
            await gatekeeper.shutdown()
            try await group.next()
        }
    }

    @Test func aGrantIsWrittenBeforeItIsAnswered() async throws {
        let persistence = RecordingPersistence()
        let gatekeeper = gatekeeper(persistence: persistence)
        await gatekeeper.observe(reading(limit: 1, active: 0))
        let lease = try await gatekeeper.acquire(AcquireRequest(wait: .zero)).get()
        #expect(persistence.written.withLock { $0.contains { $0.id == lease.id && $0.state == .granted } })
    }

    @Test func aGrantThatCannotBeWrittenIsRefusedAndItsSlotKept() async throws {
        let persistence = RecordingPersistence()
        let gatekeeper = gatekeeper(persistence: persistence)
        await gatekeeper.observe(reading(limit: 1, active: 0))
        let held = try await gatekeeper.acquire(AcquireRequest(holder: "held", wait: .zero)).get()
        persistence.failing.store(true, ordering: .relaxed)
        await #expect(throws: GatekeeperError.stateUnwritable) { try await gatekeeper.renew(held.id) }
        await gatekeeper.observe(reading(limit: 2, active: 0))
        #expect(await gatekeeper.acquire(AcquireRequest(wait: .zero)) == .failure(.stateUnwritable))
        #expect(await gatekeeper.lease(held.id)?.state == .granted, "nothing already granted is lost")
        #expect(await gatekeeper.status().slots.heldByLeases == 1, "the refused grant gave its slot back")
        persistence.failing.store(false, ordering: .relaxed)
        #expect(try await gatekeeper.acquire(AcquireRequest(wait: .zero)).get().state == .granted)
    }

    /// Issue 12, hole 7: a bind whose write fails leaves the lease as the ledger has it (granted), so the client's
    /// retry binds and writes instead of answering a no-op 200 that wrote nothing.
    @Test func aBindThatCannotBeWrittenIsUndoneAndTheRetryWrites() async throws {
        let persistence = RecordingPersistence()
        let gatekeeper = gatekeeper(persistence: persistence)
        await gatekeeper.observe(reading(limit: 2, active: 0))
        let lease = try await gatekeeper.acquire(AcquireRequest(wait: .zero)).get()
        persistence.failing.store(true, ordering: .relaxed)
        await #expect(throws: GatekeeperError.stateUnwritable) { try await gatekeeper.bind(lease.id, to: "s1") }
        #expect(await gatekeeper.lease(lease.id)?.state == .granted, "memory never runs ahead of the ledger")
        await #expect(throws: GatekeeperError.stateUnwritable) { try await gatekeeper.release(lease.id) }
        #expect(await gatekeeper.lease(lease.id)?.state == .granted)
        persistence.failing.store(false, ordering: .relaxed)
        #expect(try await gatekeeper.bind(lease.id, to: "s1").state == .bound)
        #expect(persistence.written.withLock { $0.contains { $0.id == lease.id && $0.state == .bound && $0.sessionID == "s1" } })
    }

    @Test func shutdownAnswersParkedRequests() async {
        let gatekeeper = gatekeeper()
        await gatekeeper.observe(reading(limit: 0, active: 0))
        async let a = gatekeeper.acquire(AcquireRequest(holder: "a", wait: .seconds(60)))
        async let b = gatekeeper.acquire(AcquireRequest(holder: "b", wait: .seconds(60)))
        await waitForWaiters(gatekeeper, 2)
        await gatekeeper.shutdown()
        #expect(await a == .failure(.shuttingDown))
        #expect(await b == .failure(.shuttingDown))
        #expect(await gatekeeper.acquire(AcquireRequest(wait: .seconds(1))) == .failure(.shuttingDown))
    }

    @Test func anAcquireWithNoFreshReadingAsksThePollerForOne() async {
        let gatekeeper = gatekeeper()
        var work = gatekeeper.upstreamWork.makeAsyncIterator()
        async let parked = gatekeeper.acquire(AcquireRequest(wait: .seconds(60)))
        #expect(await work.next() == .pollNow)
        await gatekeeper.shutdown()
        _ = await parked
    }

    @Test func thePollerIsToldWhenThePaceChanges() async throws {
        let gatekeeper = gatekeeper()
        await gatekeeper.observe(reading(limit: 1, active: 0))
        var work = gatekeeper.upstreamWork.makeAsyncIterator()
        let lease = try await gatekeeper.acquire(AcquireRequest(wait: .zero)).get()
        #expect(await work.next() == .paceChanged, "an unbound lease needs the fast pace")
        _ = try await gatekeeper.bind(lease.id, to: "s1")
        #expect(await work.next() == .paceChanged, "nothing to watch closely: idle again")
    }

    /// Many concurrent requests against a small limit: never more granted than free, everyone served in the end.
    @Test func manyConcurrentRequestsNeverExceedTheLimit() async throws {
        let gatekeeper = gatekeeper()
        let limit = 3
        await gatekeeper.observe(reading(limit: limit, active: 0))
        let clients = 200
        try await withThrowingTaskGroup(of: Lease.self) { group in
            for index in 0..<clients {
                group.addTask {
                    try await gatekeeper.acquire(AcquireRequest(holder: "c\(index % 7)", priority: index % 3, wait: .seconds(600))).get()
                }
            }
            var served = 0
            var running: [String] = []
            while let lease = try await group.next() {
                let session = "s-\(lease.id)"
                _ = try await gatekeeper.bind(lease.id, to: session)
                running.append(session)
                let status = await gatekeeper.status()
                #expect(status.slots.heldByLeases <= limit)
                #expect(running.count <= limit)
                served += 1
                // The platform finishes the oldest session; its slot goes to the next waiter.
                let done = running.removeFirst()
                await gatekeeper.observeSession(done, status: .completed, at: clock.now)
            }
            #expect(served == clients)
        }
        #expect(await gatekeeper.status().slots.heldByLeases == 0)
    }
}
