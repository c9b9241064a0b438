//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

@Suite struct LeaseTransitionTests {
    static let t0 = Fixture.start

    static func lease(_ state: LeaseState = .waiting, session: String? = nil) -> Lease {
        var random = SplitMix64(seed: 1)
        var lease = Lease(
            id: LeaseID(time: t0, random: &random),
            holder: "h",
            uid: 1,
            gid: 1,
            pid: 1,
            priority: 0,
            claimTTL: .seconds(60),
            requestedAt: t0,
            host: "x"
        )
        switch state {
        case .waiting: break
        case .granted: try? lease.grant(at: t0)
        case .bound:
            try? lease.grant(at: t0)
            try? lease.bind(to: session ?? "s1", at: t0)
        case .draining:
            try? lease.grant(at: t0)
            try? lease.bind(to: session ?? "s1", at: t0)
            try? lease.release(at: t0)
        case .released:
            try? lease.grant(at: t0)
            try? lease.release(at: t0)
        case .expired:
            try? lease.grant(at: t0)
            try? lease.expire(at: t0 + .seconds(60))
        }
        #expect(lease.state == state)
        return lease
    }

    @Test func grantSetsExpiryFromClaimTTL() throws {
        var lease = Self.lease()
        try lease.grant(at: Self.t0 + .seconds(3))
        #expect(lease.state == .granted)
        #expect(lease.expiresAt == Self.t0 + .seconds(63))
        #expect(lease.waited == .seconds(3))
    }

    @Test(arguments: [LeaseState.granted, .bound, .draining, .released, .expired])
    func grantIsOnlyForWaiting(_ state: LeaseState) {
        var lease = Self.lease(state)
        #expect(throws: GatekeeperError.self) { try lease.grant(at: Self.t0) }
        #expect(lease.state == state)
    }

    @Test func bindMovesGrantedToBoundAndClearsExpiry() throws {
        var lease = Self.lease(.granted)
        #expect(try lease.bind(to: "s1", at: Self.t0 + .seconds(1)))
        #expect(lease.state == .bound)
        #expect(lease.sessionID == "s1")
        #expect(lease.expiresAt == nil)
        #expect(lease.boundAt == Self.t0 + .seconds(1))
    }

    @Test(arguments: [LeaseState.bound, .draining])
    func bindingTheSameSessionAgainIsANoOp(_ state: LeaseState) throws {
        var lease = Self.lease(state, session: "s1")
        #expect(try lease.bind(to: "s1", at: Self.t0) == false)
        #expect(lease.state == state)
    }

    @Test(arguments: [LeaseState.bound, .draining])
    func bindingAnotherSessionConflicts(_ state: LeaseState) {
        var lease = Self.lease(state, session: "s1")
        #expect(throws: GatekeeperError.self) { try lease.bind(to: "s2", at: Self.t0) }
        #expect(lease.sessionID == "s1")
    }

    @Test(arguments: [LeaseState.waiting, .released, .expired])
    func bindingAnUngrantedOrEndedLeaseConflicts(_ state: LeaseState) {
        var lease = Self.lease(state)
        do {
            try lease.bind(to: "s1", at: Self.t0)
            Issue.record("bind of a \(state) lease succeeded")
        } catch {
            #expect(error.code == "lease_conflict")
        }
    }

    @Test func renewPushesTheExpiryOfAGrantedLease() throws {
        var lease = Self.lease(.granted)
        #expect(try lease.renew(at: Self.t0 + .seconds(50)))
        #expect(lease.expiresAt == Self.t0 + .seconds(110))
    }

    @Test(arguments: [LeaseState.bound, .draining])
    func renewOfABoundLeaseIsANoOp(_ state: LeaseState) throws {
        var lease = Self.lease(state)
        #expect(try lease.renew(at: Self.t0) == false)
        #expect(lease.expiresAt == nil)
    }

    @Test(arguments: [LeaseState.waiting, .released, .expired])
    func renewOfAnEndedLeaseConflicts(_ state: LeaseState) {
        var lease = Self.lease(state)
        #expect(throws: GatekeeperError.self) { try lease.renew(at: Self.t0) }
    }

    @Test func releaseOfAGrantedLeaseKeepsItsSlotUntilALaterReading() throws {
        var lease = Self.lease(.granted)
        #expect(try lease.release(at: Self.t0 + .seconds(2)))
        #expect(lease.state == .released)
        #expect(lease.releasedAt == Self.t0 + .seconds(2))
        #expect(lease.countsUntilSnapshotAfter == Self.t0 + .seconds(2))
    }

    @Test func releaseOfABoundLeaseDrains() throws {
        var lease = Self.lease(.bound)
        #expect(try lease.release(at: Self.t0))
        #expect(lease.state == .draining)
        #expect(lease.releasedAt == nil)
    }

    @Test(arguments: [LeaseState.draining, .released, .expired])
    func releaseOfADrainingOrEndedLeaseIsANoOp(_ state: LeaseState) throws {
        var lease = Self.lease(state)
        #expect(try lease.release(at: Self.t0) == false)
        #expect(lease.state == state)
    }

    @Test func releaseOfAWaitingLeaseConflicts() {
        var lease = Self.lease(.waiting)
        #expect(throws: GatekeeperError.self) { try lease.release(at: Self.t0) }
    }

    @Test(arguments: [LeaseState.bound, .draining])
    func sessionEndReleases(_ state: LeaseState) throws {
        var lease = Self.lease(state)
        try lease.sessionEnded(at: Self.t0 + .seconds(9))
        #expect(lease.state == .released)
        #expect(lease.releasedAt == Self.t0 + .seconds(9))
        #expect(lease.countsUntilSnapshotAfter == nil)
    }

    @Test(arguments: [LeaseState.waiting, .granted, .released, .expired])
    func sessionEndNeedsASession(_ state: LeaseState) {
        var lease = Self.lease(state)
        #expect(throws: GatekeeperError.self) { try lease.sessionEnded(at: Self.t0) }
    }

    @Test func expiryOnlyAfterExpiresAt() throws {
        var lease = Self.lease(.granted)
        #expect(throws: GatekeeperError.self) { try lease.expire(at: Self.t0 + .seconds(59)) }
        try lease.expire(at: Self.t0 + .seconds(60))
        #expect(lease.state == .expired)
        #expect(lease.countsUntilSnapshotAfter == Self.t0 + .seconds(60))
    }

    @Test(arguments: [LeaseState.waiting, .bound, .draining, .released, .expired])
    func onlyGrantedLeasesExpire(_ state: LeaseState) {
        var lease = Self.lease(state)
        #expect(throws: GatekeeperError.self) { try lease.expire(at: Self.t0 + .seconds(3600)) }
    }

    @Test func requeueSendsAGrantedLeaseBackToWaiting() throws {
        var lease = Self.lease(.granted)
        try lease.requeue()
        #expect(lease.state == .waiting)
        #expect(lease.grantedAt == nil)
        #expect(lease.expiresAt == nil)
        var bound = Self.lease(.bound)
        #expect(throws: GatekeeperError.self) { try bound.requeue() }
    }

    @Test func aCreateInDoubtExtendsTheEndedSlot() throws {
        var lease = Self.lease(.granted)
        lease.createInDoubtSince = Self.t0 + .seconds(30)
        try lease.release(at: Self.t0 + .seconds(10))
        #expect(lease.countsUntilSnapshotAfter == Self.t0 + .seconds(30))
    }

    @Test func leaseIDsRoundTripAndSortByTime() throws {
        var random = SplitMix64(seed: 7)
        let a = LeaseID(time: Self.t0, random: &random)
        let b = LeaseID(time: Self.t0 + .milliseconds(1), random: &random)
        #expect(a < b)
        #expect(a.rawValue.count == 30)
        #expect(LeaseID(rawValue: a.rawValue) == a)
        #expect(LeaseID(rawValue: "lse_short") == nil)
        #expect(LeaseID(rawValue: "xyz_01J9Z3ABCDEFGHJKMNPQRSTVWX") == nil)
    }

    @Test func errorsHaveStableCodes() {
        #expect(GatekeeperError.leaseNotFound("x").code == "lease_not_found")
        #expect(GatekeeperError.waitTimeout.code == "wait_timeout")
        #expect(GatekeeperError.upstreamUnavailable.code == "upstream_unavailable")
        #expect(GatekeeperError.queueFull("x").code == "queue_full")
        #expect(GatekeeperError.tokenBudgetExhausted.code == "token_budget_exhausted")
        #expect(GatekeeperError.shuttingDown.code == "shutting_down")
        #expect(GatekeeperError.badRequest("x").code == "bad_request")
        #expect(GatekeeperError.stateUnwritable.code == "state_unwritable")
    }

    @Test func timestampsFormatAndParse() {
        let t = Timestamp(millisecondsSinceEpoch: 1_795_953_600_120)
        #expect(ISO8601.format(t) == "2026-11-29T12:00:00.120Z")
        #expect(ISO8601.parse("2026-11-29T12:00:00.120Z") == t)
        #expect(ISO8601.parse("2026-11-29T13:00:00.12+01:00") == t)
        #expect(ISO8601.parse("2026-11-29T12:00:00Z") == Timestamp(millisecondsSinceEpoch: 1_795_953_600_000))
        #expect(ISO8601.parse("1970-01-01T00:00:00Z") == .distantPast)
        #expect(ISO8601.parse("not a date") == nil)
        #expect(ISO8601.parse("2026-13-29T12:00:00Z") == nil)
    }

    /// `format` writes its digits itself; every instant it writes reads back, across leap years, the epoch and
    /// times before it (a `Timestamp` spans the years 1678 to 2262).
    @Test func formattedTimestampsReadBack() {
        var random = SplitMix64(seed: 8601)
        for _ in 0..<2000 {
            // 1700-01-01 up to 2250-01-01.
            let millis = Int64(random.next() % 17_356_000_000_000) - 8_520_336_000_000
            let t = Timestamp(millisecondsSinceEpoch: millis)
            let text = ISO8601.format(t)
            #expect(text.utf8.count == 24, "\(text)")
            #expect(ISO8601.parse(text) == t, "\(text)")
        }
        #expect(ISO8601.format(Timestamp(millisecondsSinceEpoch: 951_782_400_999)) == "2000-02-29T00:00:00.999Z")
        #expect(ISO8601.format(Timestamp(millisecondsSinceEpoch: -1)) == "1969-12-31T23:59:59.999Z")
        #expect(ISO8601.format(Timestamp(millisecondsSinceEpoch: -8_520_336_000_000)) == "1700-01-01T00:00:00.000Z")
    }
}
