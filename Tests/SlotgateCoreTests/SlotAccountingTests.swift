//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

/// Each term of design.md "Slot accounting".
@Suite struct SlotAccountingTests {
    let t0 = Fixture.start

    @Test func beforeTheFirstReadingNothingIsFree() {
        let machine = Fixture.machine()
        let count = machine.count(at: t0)
        #expect(count.limit == 0)
        #expect(count.free == 0)
        #expect(machine.pause(at: t0) == .upstreamUnavailable)
    }

    @Test func theQuotaReadingIsTheBase() {
        var machine = Fixture.machine()
        _ = machine.observe(Fixture.snapshot(at: t0, limit: 3, active: 1, sessions: Fixture.running("x")), now: t0)
        let count = machine.count(at: t0)
        #expect(count == SlotCount(limit: 3, reserved: 0, inUse: 1, free: 2, heldByLeases: 0))
        #expect(count.external == 1)
    }

    @Test func unboundLeasesCount() {
        var machine = Fixture.machine(limit: 3)
        #expect(machine.grantNow(now: t0) != nil)
        #expect(machine.count(at: t0).inUse == 1)
        #expect(machine.count(at: t0).heldByLeases == 1)
    }

    @Test func boundLeasesCountUntilTheListShowsThem() throws {
        var machine = Fixture.machine(limit: 3)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0 + .seconds(1))
        #expect(machine.count(at: t0 + .seconds(1)).inUse == 1)
        // A reading whose list does not show s1 yet (lag): A does not count it, the lease still does.
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(2), limit: 3, active: 0), now: t0 + .seconds(2))
        #expect(machine.count(at: t0 + .seconds(2)).inUse == 1)
        // Once listed, A counts it and the lease adds nothing.
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(4), limit: 3, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(4))
        #expect(machine.count(at: t0 + .seconds(4)).inUse == 1)
    }

    @Test func aSessionReportedTerminalIsCreditedAtOnce() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 1, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(1))
        #expect(machine.count(at: t0 + .seconds(1)).free == 0)
        let (id, queued) = machine.take(wait: .seconds(30), now: t0 + .seconds(2))
        #expect(queued.granted.isEmpty)
        // The platform says s1 ended: its slot is free before the next quota reading, and the waiter gets it.
        let actions = machine.observeSession("s1", status: .completed, at: t0 + .seconds(3), now: t0 + .seconds(3))
        #expect(actions.granted.map(\.id) == [id])
        #expect(machine.lease(lease.id)?.state == .released)
        // The next reading no longer lists s1 and A dropped it: the credit ends without double counting.
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(4), limit: 1, active: 0), now: t0 + .seconds(4))
        #expect(machine.count(at: t0 + .seconds(4)).inUse == 1)
    }

    @Test func aStaleReadingThatStillListsAnEndedSessionKeepsTheCredit() throws {
        var machine = Fixture.machine(limit: 2)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(1))
        _ = machine.observeSession("s1", status: .failed, at: t0 + .seconds(3), now: t0 + .seconds(3))
        // A poll sent before the report answers after it: A still counts s1 and so does the list; credited, not
        // counted twice.
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(2), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(3))
        #expect(machine.count(at: t0 + .seconds(3)).inUse == 0)
        // A reading sent after the report that still lists s1 cannot tell a slow list from a restart (agp-api.md
        // §10, U3): the slot counts again (design.md invariant 8).
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(4), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(4))
        #expect(machine.count(at: t0 + .seconds(4)).inUse == 1)
    }

    /// Issue 12, hole 2: a message restarts a terminal session (agp-api.md §10). A reading sent after the report
    /// that lists the session again ends its credit, or the daemon under-counts by one for the whole second run.
    @Test func aRestartedSessionEndsItsCredit() throws {
        var machine = Fixture.machine(limit: 2)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(1))
        _ = machine.observeSession("s1", status: .completed, at: t0 + .seconds(2), now: t0 + .seconds(2))
        #expect(machine.count(at: t0 + .seconds(2)).inUse == 0, "credited at once")
        // A message restarts s1; the next reading, sent after the report, counts it in `active` and lists it.
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(3), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(3))
        #expect(machine.count(at: t0 + .seconds(3)).inUse == 1, "the restarted session holds its slot again")
        #expect(machine.count(at: t0 + .seconds(3)).free == 1)
        // And a later reading too: the credit never comes back.
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(5), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(5))
        #expect(machine.count(at: t0 + .seconds(5)).inUse == 1)
    }

    /// A status read of a credited session that shows it running again ends the credit before the next poll.
    @Test func aStatusReadShowingARestartEndsTheCredit() throws {
        var machine = Fixture.machine(limit: 2)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.bind(lease.id, to: "s1", now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(1), limit: 2, active: 1, sessions: Fixture.running("s1")), now: t0 + .seconds(1))
        _ = machine.observeSession("s1", status: .completed, at: t0 + .seconds(2), now: t0 + .seconds(2))
        #expect(machine.count(at: t0 + .seconds(2)).inUse == 0)
        // A read sent before the report says nothing new.
        _ = machine.observeSession("s1", status: .running, at: t0 + .milliseconds(1_500), now: t0 + .seconds(3))
        #expect(machine.count(at: t0 + .seconds(3)).inUse == 0)
        _ = machine.observeSession("s1", status: .running, at: t0 + .seconds(3), now: t0 + .seconds(3))
        #expect(machine.count(at: t0 + .seconds(3)).inUse == 1)
    }

    /// Issue 12, hole 3: with the list refused, status reads of some tracked sessions stand in for it. Those read
    /// non-terminal count in `active`; the unread ones stay on top of it (unknown, not gone: no confirmation is
    /// asked for them), and the next poll reads the least recently seen first.
    /// `active` lags the list (agp-api.md U3): a session the list already shows as running counts even while
    /// `active` has not caught up, so a list longer than `active` sets the count.
    @Test func aListLongerThanActiveSetsTheCount() throws {
        var machine = Fixture.machine(limit: 4)
        let reading = PlatformSnapshot(
            sentAt: t0 + .seconds(1),
            quota: QuotaReading(scope: .org, limit: 4, active: 1),
            sessions: Fixture.running("outside-1", "outside-2", "outside-3")
        )
        _ = machine.observe(reading, now: t0 + .seconds(1))
        #expect(machine.count(at: t0 + .seconds(1)).inUse == 3, "three listed running sessions, whatever active says")
        _ = try machine.mustGrant(holder: "h", now: t0 + .seconds(1))
        #expect(throws: (any Error).self, "the fourth slot is gone: no second grant") { try machine.mustGrant(holder: "h2", now: t0 + .seconds(1)) }
    }

    @Test func aPartialReadingCountsWhatItReadAndNothingMore() throws {
        var machine = Fixture.machine(limit: 4)
        for (index, session) in ["s1", "s2", "s3"].enumerated() {
            let lease = try machine.mustGrant(holder: "h\(index)", now: t0)
            _ = try machine.bind(lease.id, to: session, now: t0)
        }
        #expect(machine.sessionsToRead(limit: 2) == ["s1", "s2"])
        let partial = PlatformSnapshot(
            sentAt: t0 + .seconds(11),
            quota: QuotaReading(scope: .org, limit: 4, active: 3),
            sessions: Fixture.running("s1", "s2"),
            sessionsComplete: false
        )
        let actions = machine.observe(partial, now: t0 + .seconds(11))
        #expect(actions.upstream.isEmpty, "s3 was not read: unknown, not missing")
        #expect(machine.count(at: t0 + .seconds(11)).inUse == 4, "s1 and s2 in active; s3 unknown, counted on top")
        #expect(machine.sessionListRefused)
        #expect(machine.sessionsToRead(limit: 2) == ["s3", "s1"])
        // s3's status read: it ended. Its slot frees.
        _ = machine.observeSession("s3", status: .completed, at: t0 + .seconds(11), now: t0 + .seconds(11))
        #expect(machine.count(at: t0 + .seconds(11)).inUse == 3)
        // A session bound a moment before the quota request may not be in `active` yet (U3): on top, though read.
        let young = try machine.mustGrant(holder: "young", now: t0 + .seconds(11))
        _ = try machine.bind(young.id, to: "s4", now: t0 + .seconds(11))
        let withYoung = PlatformSnapshot(
            sentAt: t0 + .seconds(12),
            quota: QuotaReading(scope: .org, limit: 4, active: 2),
            sessions: Fixture.running("s1", "s4"),
            sessionsComplete: false
        )
        _ = machine.observe(withYoung, now: t0 + .seconds(12))
        #expect(machine.count(at: t0 + .seconds(12)).inUse == 4, "s1 in active, s2 unread and s4 too young: both on top")
        // The list answers again.
        _ = machine.observe(
            Fixture.snapshot(at: t0 + .seconds(13), limit: 4, active: 3, sessions: Fixture.running("s1", "s2", "s4")),
            now: t0 + .seconds(13)
        )
        #expect(!machine.sessionListRefused)
        #expect(machine.count(at: t0 + .seconds(13)).inUse == 3)
    }

    @Test func anEndedUnboundLeaseKeepsItsSlotUntilAReadingSentAfterItEnded() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.release(lease.id, now: t0 + .seconds(5))
        #expect(machine.count(at: t0 + .seconds(5)).free == 0)
        // A reading sent before the release does not settle it.
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(4), limit: 1, active: 0), now: t0 + .seconds(6))
        #expect(machine.count(at: t0 + .seconds(6)).free == 0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(7), limit: 1, active: 0), now: t0 + .seconds(7))
        #expect(machine.count(at: t0 + .seconds(7)).free == 1)
    }

    @Test func anExpiredLeaseKeepsItsSlotUntilAReadingSentAfterItExpired() throws {
        var machine = Fixture.machine(limit: 1) { $0.claimTTL = .seconds(10) }
        let lease = try machine.mustGrant(now: t0)
        _ = machine.tick(now: t0 + .seconds(10))
        #expect(machine.lease(lease.id)?.state == .expired)
        #expect(machine.count(at: t0 + .seconds(10)).free == 0)
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(11), limit: 1, active: 0), now: t0 + .seconds(11))
        #expect(machine.count(at: t0 + .seconds(11)).free == 1)
    }

    @Test func aCreateWithNoAnswerKeepsItsSlotAndAsksForAPoll() throws {
        var machine = Fixture.machine(limit: 1)
        let lease = try machine.mustGrant(now: t0)
        let (_, actions) = try machine.createOutcome(lease.id, .noAnswer, now: t0 + .seconds(8))
        #expect(actions.upstream == [.pollNow])
        // Settled later as no session (a final refusal of the retry): the slot counts until a reading sent after
        // the last attempt that got no answer.
        _ = try machine.createOutcome(lease.id, .rejected, now: t0 + .seconds(9))
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(5), limit: 1, active: 0), now: t0 + .seconds(9))
        #expect(machine.count(at: t0 + .seconds(9)).free == 0, "a reading sent before the create gave up does not settle it")
        _ = machine.observe(Fixture.snapshot(at: t0 + .seconds(10), limit: 1, active: 0), now: t0 + .seconds(10))
        #expect(machine.count(at: t0 + .seconds(10)).free == 1)
    }

    /// Issue 12, hole 1: a lease whose create is in flight, or got no answer, neither expires nor can be released
    /// until the create settles; readings in the meantime do not free it.
    @Test func aLeaseWithACreateInFlightNeitherExpiresNorFrees() throws {
        var machine = Fixture.machine(limit: 1) { $0.claimTTL = .seconds(2) }
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.beginCreate(lease.id, now: t0 + .seconds(1))
        for second in 2...30 {
            let now = t0 + .seconds(second)
            _ = machine.tick(now: now)
            _ = machine.observe(Fixture.snapshot(at: now, limit: 1, active: 0), now: now)
        }
        #expect(machine.lease(lease.id)?.state == .granted, "28 claim TTLs later, still held")
        #expect(machine.count(at: t0 + .seconds(30)).free == 0)
        #expect(throws: GatekeeperError.self) { try machine.release(lease.id, now: t0 + .seconds(30)) }
        _ = try machine.createOutcome(lease.id, .noAnswer, now: t0 + .seconds(31))
        _ = machine.tick(now: t0 + .seconds(40))
        #expect(machine.lease(lease.id)?.state == .granted)
        // The platform commits it at last; the retry with the same key replays it and the lease tracks it.
        let (bound, _) = try machine.createOutcome(lease.id, .created(sessionID: "late"), now: t0 + .seconds(41))
        #expect(bound.state == .bound)
        // After a restart the settling task is gone: the mark only ages, and the lease lives until createSettleBound
        // after its last attempt, then ends and counts until a reading.
        var restarted = Fixture.machine(limit: 1) { $0.claimTTL = .seconds(2) }
        var inFlight = lease
        inFlight.createInDoubtSince = t0 + .seconds(41)
        restarted.restore(inFlight, now: t0 + .seconds(50))
        let settleBound = GatekeeperStateMachine.createSettleBound
        _ = restarted.tick(now: t0 + .seconds(41) + settleBound - .seconds(1))
        #expect(restarted.lease(inFlight.id)?.state == .granted)
        #expect(throws: GatekeeperError.self) { try restarted.release(inFlight.id, now: t0 + .seconds(41) + settleBound - .seconds(1)) }
        _ = restarted.tick(now: t0 + .seconds(41) + settleBound + .seconds(2))
        #expect(restarted.lease(inFlight.id)?.state == .expired)
        #expect(restarted.count(at: t0 + .seconds(41) + settleBound + .seconds(2)).free == 0, "counted until a reading sent after the expiry")
    }

    @Test func aCreateInDoubtSettledByTheRetryIsBound() throws {
        var machine = Fixture.machine(limit: 2)
        let lease = try machine.mustGrant(now: t0)
        _ = try machine.createOutcome(lease.id, .noAnswer, now: t0 + .seconds(1))
        let (bound, _) = try machine.createOutcome(lease.id, .created(sessionID: "s1"), now: t0 + .seconds(2))
        #expect(bound.state == .bound)
        #expect(bound.createInDoubtSince == nil)
    }

    @Test func a429SeenAnywayFillsTheCountUntilAFreshReadingAndRequeuesAtTheHead() throws {
        var machine = Fixture.machine(limit: 3)
        let lease = try machine.mustGrant(holder: "proxy", now: t0)
        let (other, _) = machine.take(holder: "other", wait: .seconds(60), now: t0)
        #expect(machine.lease(other)?.state == .granted)
        let (requeued, actions) = try machine.createOutcome(lease.id, .rejectedTooManyRequests, now: t0 + .seconds(1))
        #expect(requeued.state == .waiting)
        #expect(actions.upstream == [.pollNow])
        #expect(machine.count(at: t0 + .seconds(1)).free == 0)
        #expect(machine.rejected429Total == 1)
        let (late, _) = machine.take(holder: "late", wait: .seconds(60), now: t0 + .seconds(1))
        // A reading sent before the 429 does not lift it.
        _ = machine.observe(Fixture.snapshot(at: t0 + .milliseconds(500), limit: 3, active: 0), now: t0 + .seconds(2))
        #expect(machine.lease(lease.id)?.state == .waiting)
        // A fresh reading shows one slot taken by someone else and one by `other`: the requeued request goes first.
        let fresh = machine.observe(
            Fixture.snapshot(at: t0 + .seconds(2), limit: 3, active: 1, sessions: Fixture.running("someone-else")),
            now: t0 + .seconds(2)
        )
        #expect(fresh.granted.map(\.id) == [lease.id])
        #expect(machine.lease(late)?.state == .waiting)
    }

    /// Issue 13: a 429 on a forwarded request that makes no session (a message restarting an ended session at the
    /// limit) says the platform is full: no grant until a reading sent after it, and no lease changes.
    @Test func a429OnAForwardedRouteFillsTheCountUntilAFreshReading() throws {
        var machine = Fixture.machine(limit: 3)
        let held = try machine.mustGrant(holder: "held", now: t0)
        _ = machine.observe(Fixture.snapshot(at: t0, limit: 3, active: 0), now: t0)
        let actions = machine.platformRefused(now: t0 + .seconds(1))
        #expect(actions.upstream == [.pollNow])
        #expect(machine.rejected429Total == 1)
        #expect(machine.count(at: t0 + .seconds(1)).free == 0)
        #expect(machine.lease(held.id)?.state == .granted)
        let (waiting, _) = machine.take(holder: "next", wait: .seconds(60), now: t0 + .seconds(1))
        #expect(machine.lease(waiting)?.state == .waiting)
        // A reading sent before the 429 does not lift it; one sent after grants again.
        _ = machine.observe(Fixture.snapshot(at: t0 + .milliseconds(500), limit: 3, active: 0), now: t0 + .seconds(2))
        #expect(machine.lease(waiting)?.state == .waiting)
        let fresh = machine.observe(Fixture.snapshot(at: t0 + .seconds(2), limit: 3, active: 1), now: t0 + .seconds(2))
        #expect(fresh.granted.map(\.id) == [waiting])
    }

    /// Issue 12, hole 8: several requests refused with 429 go back in the order they first had (first in,
    /// first out), ahead of requests that were never granted.
    @Test func requestsRefusedWith429KeepTheirOriginalOrder() throws {
        var machine = Fixture.machine(limit: 3)
        var ids: [LeaseID] = []
        for holder in ["a", "b", "c"] {
            let (id, _) = machine.take(holder: holder, wait: .seconds(60), now: t0)
            ids.append(id)
        }
        #expect(ids.allSatisfy { machine.lease($0)?.state == .granted })
        let (late, _) = machine.take(holder: "late", wait: .seconds(60), now: t0 + .milliseconds(1))
        // Refused in the order c, a, b (the platform answers in any order).
        for index in [2, 0, 1] {
            _ = try machine.createOutcome(ids[index], .rejectedTooManyRequests, now: t0 + .seconds(1))
        }
        #expect(machine.waiters().map(\.lease.id) == ids + [late])
        let fresh = machine.observe(
            Fixture.snapshot(at: t0 + .seconds(2), limit: 3, active: 1, sessions: Fixture.running("x")),
            now: t0 + .seconds(2)
        )
        #expect(fresh.granted.map(\.id) == [ids[0], ids[1]])
    }

    /// Issue 12, hole 8: a lease its holder named in Slotgate-Lease, older than its first wait, meets a 429: it waits
    /// again instead of timing out at once, and is granted when a slot frees.
    @Test func aNamedLeaseSurvivesA429() throws {
        var machine = Fixture.machine(limit: 1) { $0.defaultWait = .seconds(300) }
        let (id, _) = machine.take(holder: "named", wait: .seconds(5), now: t0)
        #expect(machine.lease(id)?.state == .granted)
        let later = t0 + .seconds(60)
        _ = try machine.createOutcome(id, .rejectedTooManyRequestsNamed(wait: nil), now: later)
        let expired = machine.tick(now: later + .seconds(1))
        #expect(expired.failures[id] == nil, "its first wait ended long ago; it waits again")
        #expect(machine.lease(id)?.state == .waiting)
        let fresh = machine.observe(Fixture.snapshot(at: later + .seconds(2), limit: 1, active: 0), now: later + .seconds(2))
        #expect(fresh.granted.map(\.id) == [id])
    }

    /// Issue 12, hole 7: a decision whose write failed is undone, so a retried bind binds and writes again.
    @Test func aRevertedBindCanBeRetried() throws {
        var machine = Fixture.machine(limit: 2)
        let lease = try machine.mustGrant(now: t0)
        let (bound, actions) = try machine.bind(lease.id, to: "s1", now: t0 + .seconds(1))
        #expect(actions.persisted.map(\.state) == [.bound])
        let reverted = machine.revert(bound, to: lease)
        #expect(reverted)
        #expect(machine.lease(lease.id) == lease)
        let (again, retried) = try machine.bind(lease.id, to: "s1", now: t0 + .seconds(2))
        #expect(again.state == .bound)
        #expect(retried.persisted.map(\.state) == [.bound], "the retry writes the bind again")
        // A lease that moved on since the failed decision is left alone.
        let revertedAgain = machine.revert(bound, to: lease)
        #expect(!revertedAgain)
        // A reverted release puts the slot back as granted, and the ended lease no longer counts twice.
        var other = Fixture.machine(limit: 1)
        let granted = try other.mustGrant(now: t0)
        let (released, _) = try other.release(granted.id, now: t0 + .seconds(1))
        let releaseReverted = other.revert(released, to: granted)
        #expect(releaseReverted)
        #expect(other.lease(granted.id)?.state == .granted)
        #expect(other.count(at: t0 + .seconds(1)).inUse == 1)
        _ = other.observe(Fixture.snapshot(at: t0 + .seconds(2), limit: 1, active: 0), now: t0 + .seconds(2))
        #expect(other.count(at: t0 + .seconds(2)).inUse == 1, "still granted: counted once")
    }

    @Test func slotsMaxCapsTheLimitAndReserveKeepsSlotsFree() {
        var capped = Fixture.machine { $0.slotsMax = 2 }
        _ = capped.observe(Fixture.snapshot(at: t0, limit: 10, active: 0), now: t0)
        #expect(capped.count(at: t0).limit == 2)
        #expect(capped.grantNow(now: t0) != nil)
        #expect(capped.grantNow(now: t0) != nil)
        #expect(capped.grantNow(now: t0) == nil)

        var reserved = Fixture.machine { $0.reserve = 1 }
        _ = reserved.observe(Fixture.snapshot(at: t0, limit: 3, active: 1), now: t0)
        #expect(reserved.count(at: t0).free == 1)
        #expect(reserved.grantNow(now: t0) != nil)
        #expect(reserved.grantNow(now: t0) == nil)
    }

    @Test func queuedSessionsCountAsOccupied() {
        var machine = Fixture.machine()
        _ = machine.observe(
            Fixture.snapshot(at: t0, limit: 3, active: 1, sessions: [.init(id: "a", status: .running), .init(id: "q", status: .queued)]),
            now: t0
        )
        #expect(machine.count(at: t0).inUse == 2)
    }

    @Test func aLimitBelowActiveGivesNothingFree() {
        var machine = Fixture.machine()
        _ = machine.observe(Fixture.snapshot(at: t0, limit: 2, active: 5), now: t0)
        #expect(machine.count(at: t0).free == 0)
        #expect(machine.count(at: t0).external == 5)
    }

    @Test func staleReadingsPauseGrants() {
        var machine = Fixture.machine(limit: 3) { $0.maxStaleness = .seconds(60) }
        #expect(machine.pause(at: t0 + .seconds(60)) == nil)
        #expect(machine.pause(at: t0 + .seconds(61)) == .upstreamUnavailable)
        let (tryOnce, failed) = machine.take(wait: .zero, now: t0 + .seconds(61))
        #expect(failed.failures[tryOnce] == .upstreamUnavailable)
        let (waiting, queued) = machine.take(wait: .seconds(100), now: t0 + .seconds(61))
        #expect(queued.granted.isEmpty)
        #expect(queued.upstream == [.pollNow])
        let actions = machine.observe(Fixture.snapshot(at: t0 + .seconds(62), limit: 3, active: 0), now: t0 + .seconds(62))
        #expect(actions.granted.map(\.id) == [waiting])
    }

    @Test func theTokenFloorPausesGrantsUntilTheWindowResets() {
        var machine = Fixture.machine(limit: 3) { $0.tokensMinRemaining = 1000 }
        let windowEnd = t0 + .seconds(3600)
        _ = machine.observeTokens(
            TokenReading(limit: 10_000, used: 9500, remaining: nil, windowStart: t0, windowEnd: windowEnd, sentAt: t0),
            now: t0
        )
        #expect(machine.tokens?.remaining == 500)
        #expect(machine.pause(at: t0) == .tokenBudget)
        let (tryOnce, failed) = machine.take(wait: .zero, now: t0)
        #expect(failed.failures[tryOnce] == .tokenBudgetExhausted)
        let (waiting, _) = machine.take(wait: .seconds(7200), now: t0)
        #expect(machine.nextDeadline(now: t0).map { $0 <= windowEnd } == true)
        _ = machine.observe(Fixture.snapshot(at: windowEnd, limit: 3, active: 0), now: windowEnd)
        #expect(machine.lease(waiting)?.state == .granted, "the pause lifts at the window's end")
    }

    @Test func tokenNullsMeanUnlimitedOrKeepTheLastValue() {
        var machine = Fixture.machine(limit: 3) { $0.tokensMinRemaining = 1000 }
        _ = machine.observeTokens(TokenReading(limit: nil, used: 5, remaining: nil, windowStart: t0, windowEnd: nil, sentAt: t0), now: t0)
        #expect(machine.pause(at: t0) == nil, "a null limit is unlimited")
        _ = machine.observeTokens(TokenReading(limit: 2000, used: 1500, remaining: nil, windowStart: t0, windowEnd: nil, sentAt: t0), now: t0)
        #expect(machine.pause(at: t0) == .tokenBudget)
        _ = machine.observeTokens(TokenReading(limit: 2000, used: nil, remaining: nil, windowStart: t0, windowEnd: nil, sentAt: t0), now: t0)
        #expect(machine.tokens?.remaining == 500, "a null used keeps the last known figure")
        #expect(machine.pause(at: t0) == .tokenBudget)
    }

    @Test func theTokenFloorIsOffByDefault() {
        var machine = Fixture.machine(limit: 3)
        _ = machine.observeTokens(TokenReading(limit: 10, used: 10, remaining: 0, windowStart: t0, windowEnd: nil, sentAt: t0), now: t0)
        #expect(machine.pause(at: t0) == nil)
    }
}
