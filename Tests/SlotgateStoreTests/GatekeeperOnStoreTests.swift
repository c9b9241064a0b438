//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateCore
import SlotgateStore
import SlotgateTesting
import Testing

/// The gatekeeper writing through the real ledger: a refused write refuses the grant, keeps what was granted,
/// and a restart on the same file restores it.
@Suite("Gatekeeper on the SQLite store")
struct GatekeeperOnStoreTests {
    let clock = ManualClock()

    func gatekeeper(_ store: SQLiteLeaseStore, restoring: [Lease] = []) -> Gatekeeper {
        Gatekeeper(
            settings: GatekeeperSettings(),
            host: "test",
            clock: clock,
            persistence: store,
            restoring: restoring,
            logger: Sample.logger,
            seed: 1
        )
    }

    func reading(limit: Int, active: Int, sessions: [String] = []) -> PlatformSnapshot {
        PlatformSnapshot(
            sentAt: clock.now,
            quota: QuotaReading(scope: .org, limit: limit, active: active),
            sessions: sessions.map { ListedSession(id: $0, status: .running) }
        )
    }

    @Test("an unwritable ledger refuses grants with state_unwritable and keeps the leases already granted")
    func unwritableRefusesGrantsKeepsLeases() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let store = try SQLiteLeaseStore(directory: directory.path, logger: Sample.logger)
        let gatekeeper = gatekeeper(store)
        await gatekeeper.observe(reading(limit: 3, active: 0))
        let bound = try await gatekeeper.acquire(AcquireRequest(holder: "bound", wait: .zero)).get()
        _ = try await gatekeeper.bind(bound.id, to: "ses_1")
        let granted = try await gatekeeper.acquire(AcquireRequest(holder: "granted", wait: .zero)).get()

        try await store.unsafeExecute("PRAGMA query_only = 1")
        let refused = await gatekeeper.acquire(AcquireRequest(holder: "refused", wait: .zero))
        #expect(refused == .failure(.stateUnwritable))
        await #expect(throws: GatekeeperError.stateUnwritable) { try await gatekeeper.renew(granted.id) }
        #expect(await gatekeeper.lease(bound.id)?.state == .bound)
        #expect(await gatekeeper.lease(granted.id)?.state == .granted)
        #expect(await gatekeeper.status().slots.heldByLeases == 2)

        try await store.unsafeExecute("PRAGMA query_only = 0")
        let later = try await gatekeeper.acquire(AcquireRequest(holder: "later", wait: .zero)).get()
        let stored = try await store.load()
        #expect(Set(stored.filter { $0.state.holdsSlot }.map(\.id)) == [bound.id, granted.id, later.id])
    }

    @Test("a restart on the same ledger restores bound and granted leases with the same counts")
    func restartRestores() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        var before: GatekeeperStatus
        var ids: [LeaseID] = []
        do {
            let store = try SQLiteLeaseStore(directory: directory.path, logger: Sample.logger)
            let gatekeeper = gatekeeper(store)
            await gatekeeper.observe(reading(limit: 3, active: 0))
            let bound = try await gatekeeper.acquire(AcquireRequest(holder: "bound", wait: .zero)).get()
            _ = try await gatekeeper.bind(bound.id, to: "ses_1")
            let granted = try await gatekeeper.acquire(AcquireRequest(holder: "granted", wait: .zero)).get()
            ids = [bound.id, granted.id]
            await gatekeeper.observe(reading(limit: 3, active: 1, sessions: ["ses_1"]))
            before = await gatekeeper.status()
        }
        let store = try SQLiteLeaseStore(directory: directory.path, logger: Sample.logger)
        let restored = gatekeeper(store, restoring: try await store.load())
        #expect(await restored.lease(ids[0])?.state == .bound)
        #expect(await restored.lease(ids[1])?.state == .granted)
        await restored.observe(reading(limit: 3, active: 1, sessions: ["ses_1"]))
        let after = await restored.status()
        #expect(after.slots.heldByLeases == before.slots.heldByLeases)
        #expect(after.slots.inUse == before.slots.inUse)
        #expect(after.slots.free == before.slots.free)
    }
}
