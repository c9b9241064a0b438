//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HeapModule

/// Estimates when waiters will be granted, from how long recent leases held their slots.
///
/// **Run time.** What turns slots over is how long a lease holds its slot: from its grant to the moment the daemon
/// sees the slot free (the lease released or expired, or its session reported ended). That includes the client's
/// create, the session's own run and the poll that notices its end, which is what a waiter waits for. Each ended lease
/// that was granted gives one sample (`releasedAt − grantedAt`); the newest ``capacity`` samples are kept, and
/// samples older than the ledger's retention are not used.
///
/// **Remaining time of a held slot** of age `a`: the empirical conditional mean residual, the mean of `x − a` over
/// the samples `x > a` (its holder's samples when it has at least ``minimumHolderSamples`` of them, else everyone's).
/// A slot older than every sample gets a tenth of a typical run. A slot the daemon does not hold (a session created
/// without it), whose age is unknown, gets the mean residual life of a slot seen at a random moment, `E[X²] / 2E[X]`.
///
/// **A fresh run** (a freed slot given to the next waiter) lasts the typical run of that waiter's holder, or of
/// everyone: the mean with the shortest and longest tenth of the samples left out, robust to a few outliers.
///
/// **Position N.** The k-server queue is played forward: every occupied slot frees at now + its remaining time, a
/// free slot at now; the N-th waiter in grant order is granted at the N-th free time, and its slot then frees again
/// after a fresh run of its holder. Slots above the limit (a lowered limit) free without granting. One pass gives
/// every position's estimate in O(N log S) for N waiters and S slots.
///
/// It assumes grants are not paused and the queue does not change: an estimate, nil when there is no history.
public struct WaitEstimator: Sendable, Hashable {
    /// One ended lease's hold.
    public struct Sample: Sendable, Hashable {
        /// The lease, so that the same end is counted once when histories are merged.
        public var id: LeaseID
        /// Its holder.
        public var holder: HolderKey
        /// How long it held its slot.
        public var held: Duration
        /// When its slot freed.
        public var endedAt: Timestamp

        /// Creates a sample.
        /// - Parameters:
        ///   - id: the lease.
        ///   - holder: its holder.
        ///   - held: how long it held its slot.
        ///   - endedAt: when its slot freed.
        public init(id: LeaseID, holder: HolderKey, held: Duration, endedAt: Timestamp) {
            self.id = id
            self.holder = holder
            self.held = held
            self.endedAt = endedAt
        }
    }

    /// A slot in use when the estimate is made.
    public struct HeldSlot: Sendable, Hashable {
        /// Its holder, when a lease of this daemon holds it.
        public var holder: HolderKey?
        /// How long it has been held; nil when unknown (a session no lease holds).
        public var age: Duration?

        /// Creates a held slot.
        /// - Parameters:
        ///   - holder: its holder, if a lease holds it.
        ///   - age: how long it has been held, if known.
        public init(holder: HolderKey?, age: Duration?) {
            self.holder = holder
            self.age = age
        }
    }

    /// How many samples are kept.
    public static let capacity = 1024
    /// A holder's own samples are used once it has this many.
    public static let minimumHolderSamples = 3

    /// The newest samples, oldest end first.
    public private(set) var samples: [Sample] = []
    private var known: Set<LeaseID> = []

    /// Creates an estimator with no history.
    public init() {}

    /// Whether nothing has been recorded.
    public var isEmpty: Bool { samples.isEmpty }

    /// Records an ended lease's hold; a lease already recorded, or one that never held a slot, is ignored.
    /// - Parameter sample: the sample.
    public mutating func record(_ sample: Sample) {
        guard sample.held >= .zero, !known.contains(sample.id) else { return }
        known.insert(sample.id)
        // Leases usually end in order; a restart restores them in id order, so insert at the place by end time.
        if let last = samples.last, sample.endedAt < last.endedAt {
            let index = samples.firstIndex { $0.endedAt > sample.endedAt } ?? samples.endIndex
            samples.insert(sample, at: index)
        } else {
            samples.append(sample)
        }
        if samples.count > Self.capacity {
            let dropped = samples.count - Self.capacity
            for old in samples.prefix(dropped) { known.remove(old.id) }
            samples.removeFirst(dropped)
        }
    }

    /// Records a lease that has ended, if it was granted.
    /// - Parameter lease: an ended lease.
    public mutating func record(ended lease: Lease) {
        guard lease.state.isEnded, let grantedAt = lease.grantedAt, let releasedAt = lease.releasedAt else { return }
        record(Sample(id: lease.id, holder: lease.holderKey, held: grantedAt.duration(to: releasedAt), endedAt: releasedAt))
    }

    /// Takes in another estimator's samples (a rebuilt view in shared mode), each lease once.
    /// - Parameter other: the other estimator.
    public mutating func absorb(_ other: WaitEstimator) {
        for sample in other.samples where !known.contains(sample.id) { record(sample) }
    }

    /// The grant time of each waiter, in grant order; nil when there is no history, or for the waiters no slot can
    /// reach (a limit of 0).
    /// - Parameters:
    ///   - waiters: each waiter's holder, in grant order.
    ///   - held: the slots in use.
    ///   - capacity: the slots leases may use (the limit less the reserve).
    ///   - now: the current time.
    ///   - since: samples that ended before this are not used (the ledger's retention).
    public func grantTimes(
        waiters: [HolderKey],
        held: [HeldSlot],
        capacity: Int,
        now: Timestamp,
        since: Timestamp = .distantPast
    ) -> [Timestamp?] {
        guard let model = Model(samples.lazy.filter { $0.endedAt >= since }) else {
            return Array(repeating: nil, count: waiters.count)
        }
        var frees = Heap<Int64>()
        let base = now.nanosecondsSinceEpoch
        for slot in held {
            frees.insert(base &+ model.remaining(age: slot.age, holder: slot.holder).nanoseconds)
        }
        for _ in 0..<max(0, capacity - held.count) { frees.insert(base) }
        var excess = max(0, held.count - max(0, capacity))
        var result: [Timestamp?] = []
        result.reserveCapacity(waiters.count)
        for holder in waiters {
            var granted: Int64? = nil
            while granted == nil, let free = frees.popMin() {
                if excess > 0 {
                    excess -= 1
                } else {
                    granted = free
                }
            }
            guard let granted else {
                result.append(nil)
                continue
            }
            result.append(Timestamp(nanosecondsSinceEpoch: granted))
            frees.insert(granted &+ model.typical(holder).nanoseconds)
        }
        return result
    }

    /// The samples of one query, sorted, overall and per holder.
    struct Model {
        struct Runs {
            /// Hold times in nanoseconds, ascending.
            var sorted: [Int64]
            /// The mean without the shortest and longest tenth.
            var typical: Int64
            /// `sum(x)` and `sum(x²)` for the mean residual life.
            var residualAtRandom: Int64

            init(_ values: [Int64]) {
                sorted = values.sorted()
                let trim = sorted.count / 10
                let kept = sorted[trim..<(sorted.count - trim)]
                typical = Int64(kept.reduce(0.0) { $0 + Double($1) } / Double(max(1, kept.count)))
                let sum = sorted.reduce(0.0) { $0 + Double($1) }
                let squares = sorted.reduce(0.0) { $0 + Double($1) * Double($1) }
                residualAtRandom = sum > 0 ? Int64(squares / (2 * sum)) : 0
            }

            /// The mean of `x − age` over the samples above `age`; a tenth of a typical run when there are none.
            func remaining(after age: Int64) -> Int64 {
                var low = 0
                var high = sorted.count
                while low < high {
                    let middle = (low + high) / 2
                    if sorted[middle] <= age { low = middle + 1 } else { high = middle }
                }
                guard low < sorted.count else { return typical / 10 }
                let above = sorted[low...]
                let mean = above.reduce(0.0) { $0 + Double($1 - age) } / Double(above.count)
                return Int64(mean)
            }
        }

        var overall: Runs
        var byHolder: [HolderKey: Runs]

        init?(_ samples: some Sequence<Sample>) {
            var all: [Int64] = []
            var grouped: [HolderKey: [Int64]] = [:]
            for sample in samples {
                all.append(sample.held.nanoseconds)
                grouped[sample.holder, default: []].append(sample.held.nanoseconds)
            }
            guard !all.isEmpty else { return nil }
            overall = Runs(all)
            byHolder = grouped.filter { $0.value.count >= WaitEstimator.minimumHolderSamples }.mapValues(Runs.init)
        }

        func runs(_ holder: HolderKey?) -> Runs {
            holder.flatMap { byHolder[$0] } ?? overall
        }

        func typical(_ holder: HolderKey) -> Duration { .nanoseconds(runs(holder).typical) }

        func remaining(age: Duration?, holder: HolderKey?) -> Duration {
            guard let age else { return .nanoseconds(overall.residualAtRandom) }
            return .nanoseconds(runs(holder).remaining(after: max(0, age.nanoseconds)))
        }
    }
}
