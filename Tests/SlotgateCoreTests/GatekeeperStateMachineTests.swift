//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

/// Requests, errors and the draining, confirmation, retention and restart rules of the state machine.
@Suite struct GatekeeperStateMachineTests {
    let t0 = Fixture.start

    @Test func tryOnceGrantsAFreeSlotOrFailsAtOnce() {
        var machine = Fixture.machine(limit: 1)
        let (first, granted) = machine.take(now: t0)
        #expect(granted.granted.map(\.id) == [first])
        #expect(granted.persisted.map(\.id) == [first], "a grant is persisted")
        let (second, failed) = machine.take(now: t0)
        #expect(failed.failures[second] == .waitTimeout)
        #expect(machine.lease(second) == nil)
    }

    @Test func aWaiterIsGrantedWhenASlotFrees() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        let (waiter, queued) = machine.take(wait: .seconds(30), now: t0 + .seconds(1))
        #expect(queued.granted.isEmpty)
        #expect(queued.contains(.queueChanged))
        #expect(machine.lease(waiter)?.state == .waiting)
        #expect(machine.waiters().map(\.lease.id) == [waiter])
        let actions = machine.observeSession("s1", status: .completed, at: t0 + .seconds(2), now: t0 + .seconds(2))
        let granted = try #require(actions.granted.first)
        #expect(granted.id == waiter)
        #expect(granted.waited == .seconds(1))
    }

    @Test func aWaiterWhoseWaitRunsOutIsAnsweredWaitTimeout() {
        var machine = Fixture.machine(limit: 0)
        let (waiter, _) = machine.take(wait: .seconds(5), now: t0)
        #expect(machine.nextDeadline(now: t0) == t0 + .seconds(5))
        #expect(machine.tick(now: t0 + .seconds(4)).failures.isEmpty)
        #expect(machine.tick(now: t0 + .seconds(5)).failures[waiter] == .waitTimeout)
        #expect(machine.waitingCount == 0)
    }

    @Test func cancellingAWaiterRemovesIt() {
        var machine = Fixture.machine(limit: 0)
        let (waiter, _) = machine.take(wait: .seconds(5), now: t0)
        #expect(machine.cancel(waiter).0)
        #expect(!machine.cancel(waiter).0)
        #expect(machine.waitingCount == 0)
        #expect(machine.lease(waiter) == nil)
    }

    @Test func theQueueIsBoundedGloballyAndPerHolder() {
        var global = Fixture.machine(limit: 0) { $0.maxWaiters = 2 }
        _ = global.take(holder: "a", wait: .seconds(5), now: t0)
        _ = global.take(holder: "b", wait: .seconds(5), now: t0)
        let (third, actions) = global.take(holder: "c", wait: .seconds(5), now: t0)
        #expect(actions.failures[third]?.code == "queue_full")

        var perHolder = Fixture.machine(limit: 5) { $0.maxPerHolder = 2 }
        #expect(perHolder.grantNow(holder: "a", now: t0) != nil)
        _ = perHolder.take(holder: "a", wait: .seconds(5), now: t0)
        let (over, rejected) = perHolder.take(holder: "a", wait: .seconds(5), now: t0)
        #expect(rejected.failures[over]?.code == "queue_full")
        #expect(rejected.failures[over]?.message.contains("queue.max_per_holder") == true)
        #expect(perHolder.grantNow(holder: "a", uid: 2, now: t0) != nil, "another uid is another holder")
    }

    @Test func oneUIDCannotEscapeTheCapWithManyHolderNames() {
        var machine = Fixture.machine(limit: 2) { $0.maxPerUID = 3 }
        #expect(machine.grantNow(holder: "a", uid: 7, now: t0) != nil)
        #expect(machine.grantNow(holder: "b", uid: 7, now: t0) != nil)
        let (waiting, queued) = machine.take(holder: "c", uid: 7, wait: .seconds(5), now: t0)
        #expect(queued.failures.isEmpty && machine.waitingCount == 1)
        let (over, rejected) = machine.take(holder: "d", uid: 7, wait: .seconds(5), now: t0)
        #expect(rejected.failures[over]?.code == "queue_full")
        #expect(rejected.failures[over]?.message.contains("queue.max_per_uid") == true)
        let (other, accepted) = machine.take(holder: "a", uid: 8, wait: .seconds(5), now: t0)
        #expect(accepted.failures[other] == nil && machine.waitingCount == 2, "another uid has a cap of its own")

        // A waiter that leaves gives its place in the cap back.
        #expect(machine.cancel(waiting).0)
        let (again, requeued) = machine.take(holder: "d", uid: 7, wait: .seconds(5), now: t0)
        #expect(requeued.failures[again] == nil && machine.waitingCount == 2)
    }

    @Test(arguments: [
        AcquireRequest(holder: String(repeating: "x", count: 129)),
        AcquireRequest(priority: 11),
        AcquireRequest(priority: -11),
        AcquireRequest(wait: .seconds(86_401)),
        AcquireRequest(wait: .seconds(-1)),
        AcquireRequest(claimTTL: .zero),
        AcquireRequest(claimTTL: .seconds(3601)),
    ])
    func outOfRangeRequestsAreBadRequests(_ request: AcquireRequest) {
        var machine = Fixture.machine(limit: 3)
        let (id, actions) = machine.acquire(request, now: t0)
        #expect(actions.failures[id]?.code == "bad_request")
    }

    @Test func unknownLeasesAreNotFound() {
        var machine = Fixture.machine(limit: 1)
        var random = SplitMix64(seed: 9)
        let unknown = LeaseID(time: t0, random: &random)
        var codes: [String] = []
        do { _ = try machine.bind(unknown, to: "s", now: t0) } catch { codes.append(error.code) }
        do { _ = try machine.renew(unknown, now: t0) } catch { codes.append(error.code) }
        do { _ = try machine.release(unknown, now: t0) } catch { codes.append(error.code) }
        do { _ = try machine.createOutcome(unknown, .rejected, now: t0) } catch { codes.append(error.code) }
        #expect(codes == Array(repeating: "lease_not_found", count: 4))
    }

    @Test func aWaitingLeaseCannotBeBoundRenewedOrReleased() {
        var machine = Fixture.machine(limit: 0)
        let (waiter, _) = machine.take(wait: .seconds(5), now: t0)
        #expect(throws: GatekeeperError.self) { try machine.bind(waiter, to: "s", now: t0) }
        #expect(throws: GatekeeperError.self) { try machine.renew(waiter, now: t0) }
        #expect(throws: GatekeeperError.self) { try machine.release(waiter, now: t0) }
    }

    @Test func oneSessionBindsOneLease() throws {
        var machine = Fixture.machine(limit: 2)
        let a = try machine.mustGrant(now: t0)
        let b = try machine.mustGrant(now: t0)
        _ = try machine.bind(a.id, to: "s1", now: t0)
        #expect(throws: GatekeeperError.self) { try machine.bind(b.id, to: "s1", now: t0) }
        let (again, actions) = try machine.bind(a.id, to: "s1", now: t0)
        #expect(again.state == .bound)
        #expect(actions.isEmpty, "binding the same session again is a no-op")
    }

    @Test func releasingABoundLeaseDrainsAndNobodyIsGrantedUntilTheSessionEnds() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 1, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(1))
        let (waiter, _) = machine.take(wait: .seconds(60), now: t0 + .seconds(1))
        let (released, actions) = try machine.release(lease.id, now: t0 + .seconds(2))
        #expect(released.state == .draining)
        #expect(released.expiresAt == nil)
        #expect(actions.upstream == [.confirmSession("s1")])
        #expect(actions.granted.isEmpty)
        // The platform still runs it: nothing frees, on a status read or on the next poll.
        #expect(machine.observeSession("s1", status: .running, at: t0 + .seconds(2), now: t0 + .seconds(2)).granted.isEmpty)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(3), limit: 1, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(3))
        #expect(machine.lease(waiter)?.state == .waiting)
        // Releasing a draining lease again is a no-op; with cancel_session it still cancels.
        let (_, again) = try machine.release(lease.id, cancelSession: true, now: t0 + .seconds(4))
        #expect(again.upstream == [.cancelSession("s1")])
        let ended = machine.observeSession("s1", status: .interrupted, at: t0 + .seconds(5), now: t0 + .seconds(5))
        #expect(ended.granted.map(\.id) == [waiter])
        #expect(machine.lease(lease.id)?.state == .released)
    }

    @Test func releasingWithCancelAsksThePlatformToCancel() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        let (_, actions) = try machine.release(lease.id, cancelSession: true, now: t0)
        #expect(actions.upstream == [.cancelSession("s1")])
    }

    @Test func releasingALeaseWhoseSessionIsKnownTerminalFreesAtOnce() throws {
        var machine = Fixture.machine(limit: 2)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(1))
        // A 404 counts as terminal (design.md).
        _ = machine.observeSession("s1", status: nil, at: t0 + .seconds(2), now: t0 + .seconds(2))
        #expect(machine.lease(lease.id)?.state == .released)
        let (again, _) = try machine.release(lease.id, now: t0 + .seconds(3))
        #expect(again.state == .released)
    }

    @Test func aBoundSessionMissingFromTheListIsConfirmedWithBackoff() throws {
        var machine = Fixture.machine(limit: 2)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        // A list sent before the bind says nothing about s1.
        let early = machine.observe(Fixture.snapshot(at: t0 - .seconds(1), limit: 2, active: 0), now: t0)
        #expect(early.upstream.isEmpty)
        let first = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 2, active: 0), now: t0 + .seconds(1))
        #expect(first.upstream == [.confirmSession("s1")])
        let second = machine.observe(Fixture.snapshot(at: t0 + .seconds(2), limit: 2, active: 0), now: t0 + .seconds(2))
        #expect(second.upstream.isEmpty, "asked again only after a backoff")
        let later = machine.observe(Fixture.snapshot(at: t0 + .seconds(10), limit: 2, active: 0), now: t0 + .seconds(10))
        #expect(later.upstream == [.confirmSession("s1")])
    }

    @Test func anUndeliverableGrantFreesItsSlotAtOnce() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        let (waiter, _) = machine.take(wait: .seconds(60), now: t0)
        let actions = machine.undeliverable(lease.id, now: t0 + .seconds(1))
        #expect(actions.granted.map(\.id) == [waiter], "no reading is needed: the client never saw the grant")
    }

    @Test func anAcquireWithAnOldReadingAsksForAPoll() {
        var machine = Fixture.machine(limit: 0) { $0.fastPollInterval = .seconds(2) }
        let (_, fresh) = machine.take(wait: .seconds(30), now: t0 + .seconds(1))
        #expect(fresh.upstream.isEmpty)
        let (_, old) = machine.take(wait: .seconds(30), now: t0 + .seconds(3))
        #expect(old.upstream == [.pollNow])
    }

    @Test func thePaceIsFastWhileAnyoneWaitsOrALeaseIsUnbound() throws {
        var machine = Fixture.machine(limit: 1)
        #expect(machine.pollingPace == .idle)
        let lease = try machine.mustGrant(now: t0)
        #expect(machine.pollingPace == .fast)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        #expect(machine.pollingPace == .idle)
        _ = machine.take(wait: .seconds(30), now: t0)
        #expect(machine.pollingPace == .fast)
    }

    @Test func shutdownAnswersEveryWaiterAndRefusesNewRequests() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        let (a, _) = machine.take(wait: .seconds(30), now: t0)
        let (b, _) = machine.take(wait: .seconds(30), now: t0)
        let actions = machine.shutdown()
        #expect(actions.failures == [a: .shuttingDown, b: .shuttingDown])
        #expect(machine.pause(at: t0) == .shuttingDown)
        let (c, refused) = machine.take(wait: .seconds(30), now: t0)
        #expect(refused.failures[c] == .shuttingDown)
        #expect(machine.lease(lease.id)?.state == .granted, "leases are kept")
    }

    @Test func aConfigChangeThatRaisesTheCapGrantsAtOnce() {
        var machine = Fixture.machine { $0.slotsMax = 1 }
        _ = machine.observe(Fixture.snapshot(at: t0, limit: 5, active: 1), now: t0)
        let (waiter, _) = machine.take(wait: .seconds(30), now: t0)
        var settings = machine.settings
        settings.slotsMax = 3
        #expect(machine.configure(settings, now: t0).granted.map(\.id) == [waiter])
    }

    @Test func aSessionBelongsToTheUIDOfItsLeaseUntilTheLeaseIsForgotten() throws {
        var machine = Fixture.machine(limit: 2) { $0.endedRetention = .seconds(600) }
        let lease = try machine.mustGrant(uid: 7, now: t0)
        #expect(machine.sessionOwner("s7") == nil)
        _ = try machine.bind(lease.id, to: "s7", now: t0)
        #expect(machine.sessionOwner("s7") == 7)
        _ = machine.observeSession("s7", status: .completed, at: t0 + .seconds(1), now: t0 + .seconds(1))
        #expect(machine.sessionOwner("s7") == 7, "an ended session is still its creator's")
        _ = machine.tick(now: t0 + .seconds(599))
        #expect(machine.sessionOwner("s7") == 7)
        #expect(machine.tick(now: t0 + .seconds(602)).contains(.forget(lease.id)))
        #expect(machine.sessionOwner("s7") == nil, "forgotten with its lease")

        // A lease of another fleet host names a uid of that host: it makes no one here an owner.
        var random = SystemRandomNumberGenerator()
        var other = Lease(
            id: LeaseID(time: t0, random: &random),
            holder: "h",
            uid: 8,
            gid: 8,
            pid: 1,
            priority: 0,
            claimTTL: .seconds(60),
            requestedAt: t0,
            host: "other-host"
        )
        other.state = .bound
        other.sessionID = "s8"
        other.boundAt = t0
        machine.restore(other, now: t0)
        #expect(machine.sessionOwner("s8") == nil)
    }

    @Test func endedLeasesStayVisibleForTheirRetentionThenAreForgotten() throws {
        var machine = Fixture.machine(limit: 1) { $0.endedRetention = .seconds(600) }
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.release(lease.id, now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 1, active: 0), now: t0 + .seconds(1))
        #expect(machine.tick(now: t0 + .seconds(599)).contains(.forget(lease.id)) == false)
        #expect(machine.lease(lease.id)?.state == .released)
        #expect(machine.tick(now: t0 + .seconds(600)).contains(.forget(lease.id)))
        #expect(machine.lease(lease.id) == nil)
        #expect(throws: GatekeeperError.self) { try machine.release(lease.id, now: t0 + .seconds(601)) }
    }

    @Test func restoredLeasesCountUntilAFreshReadingShowsThem() throws {
        var before = Fixture.machine(limit: 3)
        let granted = try before.mustGrant(now: t0)
        let boundLease = try before.mustGrant(now: t0)
        let (bound, _) = try before.bind(boundLease.id, to: "s1", now: t0)
        // Restart at t0+30 s with both leases from the ledger.
        let restart = t0 + .seconds(30)
        var after = Fixture.machine()
        after.restore(granted, now: restart)
        after.restore(bound, now: restart)
        #expect(after.lease(granted.id)?.expiresAt == granted.expiresAt, "a granted lease keeps its expiry")
        #expect(after.pause(at: restart) == .upstreamUnavailable)
        // A reading sent before the restart finished, listing s1, does not make the bound lease "seen".
        _ = after.observe(Fixture.snapshot(at: restart - .seconds(1), limit: 3, active: 1, sessions: Fixture.running("s1")), now: restart)
        #expect(after.count(at: restart).inUse == 3, "A's 1, the granted lease, and the bound lease not yet seen")
        _ = after.observe(
            Fixture.snapshot(at: restart + .seconds(1), limit: 3, active: 1, sessions: Fixture.running("s1")),
            now: restart + .seconds(1)
        )
        #expect(after.count(at: restart + .seconds(1)).inUse == 2, "A counts s1, the granted lease adds one")
        #expect(after.count(at: restart + .seconds(1)).heldByLeases == 2)
        _ = after.tick(now: granted.expiresAt ?? restart)
        #expect(after.lease(granted.id)?.state == .expired)
    }
}
