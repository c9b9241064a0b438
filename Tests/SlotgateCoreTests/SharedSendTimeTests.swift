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

/// A fleet's store in memory whose transactions wait `lockWait` for the fleet's lock (the manual clock moves on),
/// and whose database clock runs `offset` ahead of the host's.
final class WaitingSharedStore: SharedStateStore {
    let state = Mutex(SharedGatekeeperState())
    let clock: ManualClock
    let lockWait: Duration
    let offset: Duration

    init(clock: ManualClock, lockWait: Duration, offset: Duration) {
        self.clock = clock
        self.lockWait = lockWait
        self.offset = offset
    }

    func transact<T: Sendable>(
        naming ids: [LeaseID],
        _ decide: @escaping @Sendable (SharedGatekeeperState, Timestamp) -> SharedDecision<T>
    ) async throws -> T {
        clock.advance(by: lockWait)
        let now = clock.now.advanced(by: offset)
        return state.withLock { state in
            let decision = decide(state, now)
            state = decision.state
            return decision.value
        }
    }

    func read(naming ids: [LeaseID]) async throws -> SharedGatekeeperState { state.withLock { $0 } }
    func recentlyEnded(within window: Duration) async throws -> [Lease] { [] }
    func members() async throws -> FleetMembers { FleetMembers(poller: "test", seen: ["test": .zero]) }
}

@Suite struct SharedSendTimeTests {
    /// Issue 12, hole 5: a reading's send time moves onto the database's clock by at most the true offset; the wait
    /// for the fleet's lock must not move it later (the unsafe direction for "bound before the quota read", for
    /// ending the count of ended leases and for clearing the 429 mark).
    @Test func aLockWaitDoesNotMoveAReadingLater() async throws {
        let clock = ManualClock()
        let offset = Duration.seconds(3)
        let store = WaitingSharedStore(clock: clock, lockWait: .seconds(2), offset: offset)
        let gatekeeper = Gatekeeper(settings: GatekeeperSettings(), host: "test", clock: clock, logger: Logger(label: "test"), shared: store)
        let sentAt = clock.now
        await gatekeeper.observe(
            PlatformSnapshot(sentAt: sentAt, quota: QuotaReading(scope: .org, limit: 3, active: 0), sessions: [])
        )
        let stored = try #require(store.state.withLock { $0.snapshot?.sentAt })
        #expect(stored <= sentAt.advanced(by: offset), "moved by the lock wait: \(sentAt.duration(to: stored) - offset) too late")
        #expect(stored == sentAt.advanced(by: offset))
    }
}
