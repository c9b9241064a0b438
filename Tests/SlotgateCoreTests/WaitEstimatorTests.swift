//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

@Suite struct WaitEstimatorTests {
    var random = SplitMix64(seed: 11)
    let now = Fixture.start
    let alice = HolderKey(uid: 1000, holder: "alice")
    let bob = HolderKey(uid: 1000, holder: "bob")

    mutating func estimator(_ runs: [(HolderKey, Duration)]) -> WaitEstimator {
        var estimator = WaitEstimator()
        for (index, (holder, held)) in runs.enumerated() {
            let ended = now - .seconds(Int64(100 - index))
            estimator.record(.init(id: LeaseID(time: ended, random: &random), holder: holder, held: held, endedAt: ended))
        }
        return estimator
    }

    func seconds(_ times: [Timestamp?]) -> [Double?] {
        times.map { $0.map { now.duration(to: $0).seconds } }
    }

    @Test func noHistoryGivesNoEstimate() {
        let times = WaitEstimator().grantTimes(waiters: [alice, bob], held: [.init(holder: alice, age: .seconds(1))], capacity: 1, now: now)
        #expect(times == [nil, nil])
    }

    @Test mutating func theNthWaiterGetsTheNthFreedSlot() {
        let estimator = estimator(Array(repeating: (alice, .seconds(10)), count: 5))
        let held: [WaitEstimator.HeldSlot] = [.init(holder: alice, age: .seconds(3)), .init(holder: alice, age: .seconds(6))]
        let times = estimator.grantTimes(waiters: [alice, alice, alice, alice], held: held, capacity: 2, now: now)
        // Slots free at 4 s and 7 s; each then takes a fresh 10 s run.
        #expect(seconds(times) == [4, 7, 14, 17])
    }

    @Test mutating func freeSlotsGrantAtOnce() {
        let estimator = estimator([(alice, .seconds(10))])
        let times = estimator.grantTimes(waiters: [alice, alice, alice], held: [.init(holder: alice, age: .zero)], capacity: 3, now: now)
        #expect(seconds(times) == [0, 0, 10])
    }

    @Test mutating func slotsAboveTheLimitFreeWithoutAGrant() {
        let estimator = estimator([(alice, .seconds(10))])
        let held: [WaitEstimator.HeldSlot] = [.init(holder: alice, age: .seconds(5)), .init(holder: alice, age: .seconds(2))]
        let times = estimator.grantTimes(waiters: [alice, alice], held: held, capacity: 1, now: now)
        #expect(seconds(times) == [8, 18])
        #expect(estimator.grantTimes(waiters: [alice], held: held, capacity: 0, now: now) == [nil])
    }

    @Test mutating func theRemainingTimeIsConditionalOnTheAge() {
        // Runs of 2, 4, 6, 8 and 10 s: a slot held 5 s has one of 6, 8 or 10 s, so 3 s remain on average.
        let estimator = estimator([2, 4, 6, 8, 10].map { (alice, .seconds($0)) })
        #expect(seconds(estimator.grantTimes(waiters: [bob], held: [.init(holder: alice, age: .seconds(5))], capacity: 1, now: now)) == [3])
        // Older than every run: a tenth of a typical one (the mean of 2...10 with no tenth trimmed from 5 samples).
        #expect(seconds(estimator.grantTimes(waiters: [bob], held: [.init(holder: alice, age: .seconds(30))], capacity: 1, now: now)) == [0.6])
    }

    @Test mutating func aSlotOfUnknownAgeHasTheMeanResidualLife() {
        let estimator = estimator(Array(repeating: (alice, .seconds(10)), count: 4))
        #expect(seconds(estimator.grantTimes(waiters: [bob], held: [.init(holder: nil, age: nil)], capacity: 1, now: now)) == [5])
    }

    @Test mutating func holdersWithHistoryUseTheirOwnRuns() {
        // Alice's runs take 2 s, Bob's 20 s; Carol has one run only and gets everyone's typical run.
        let carol = HolderKey(uid: 1001, holder: "carol")
        var runs: [(HolderKey, Duration)] = Array(repeating: (alice, .seconds(2)), count: 4)
        runs += Array(repeating: (bob, .seconds(20)), count: 4)
        runs.append((carol, .seconds(11)))
        let estimator = estimator(runs)
        let held: [WaitEstimator.HeldSlot] = [.init(holder: bob, age: .seconds(1))]
        let times = estimator.grantTimes(waiters: [alice, bob, carol, alice], held: held, capacity: 1, now: now)
        // Bob's slot frees at 19 s; Alice holds it 2 s, Bob 20 s, Carol about 11 s (everyone's trimmed mean).
        let typical = (4 * 2 + 4 * 20 + 11) / 9.0
        let expected: [Double] = [19, 21, 41, 41 + typical]
        for (got, want) in zip(seconds(times), expected) {
            #expect(abs((got ?? -1) - want) < 0.001, "\(got as Any) vs \(want)")
        }
    }

    @Test mutating func samplesOlderThanTheRetentionAreNotUsed() {
        let estimator = estimator([(alice, .seconds(10))])
        #expect(estimator.grantTimes(waiters: [alice], held: [], capacity: 0, now: now, since: now) == [nil])
        #expect(estimator.grantTimes(waiters: [alice], held: [], capacity: 1, now: now, since: now - .seconds(200)) == [now])
    }

    @Test mutating func historyIsBoundedAndEachLeaseCountsOnce() {
        var estimator = WaitEstimator()
        var samples: [WaitEstimator.Sample] = []
        for index in 0..<(WaitEstimator.capacity + 10) {
            let ended = now + .milliseconds(Int64(index))
            samples.append(.init(id: LeaseID(time: ended, random: &random), holder: alice, held: .seconds(1), endedAt: ended))
        }
        // Out of order, twice: kept by end time, each once, the newest `capacity`.
        for sample in samples.reversed() + samples { estimator.record(sample) }
        #expect(estimator.samples.count == WaitEstimator.capacity)
        #expect(estimator.samples.map(\.endedAt) == estimator.samples.map(\.endedAt).sorted())
        #expect(estimator.samples.last?.id == samples.last?.id)
        var merged = WaitEstimator()
        merged.record(samples[samples.count - 1])
        merged.absorb(estimator)
        #expect(merged.samples.count == WaitEstimator.capacity)
    }

    @Test mutating func endedLeasesThatWereNeverGrantedAreNotSamples() throws {
        var lease = Lease(
            id: LeaseID(time: now, random: &random),
            holder: "alice",
            uid: 1000,
            gid: 1000,
            pid: 1,
            priority: 0,
            claimTTL: .seconds(60),
            requestedAt: now,
            host: "x"
        )
        var estimator = WaitEstimator()
        estimator.record(ended: lease)
        #expect(estimator.isEmpty)
        try lease.grant(at: now + .seconds(1))
        _ = try lease.release(at: now + .seconds(4))
        estimator.record(ended: lease)
        #expect(estimator.samples.map(\.held) == [.seconds(3)])
    }
}
