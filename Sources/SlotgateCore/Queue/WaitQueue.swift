//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import DequeModule
import HeapModule

/// The waiters, in grant order: higher priority first; within a priority, requests sent back to the head
/// (a create refused with 429) first, then the holder that now holds the fewest leases, then arrival.
///
/// Each priority level keeps one FIFO per holder and a min-heap of holder candidates. Entries are removed
/// lazily, as in postgres-nio's `PoolStateMachine+RequestQueue`: cancelling a waiter only drops it from the
/// dictionary (O(1)); a stale FIFO entry or heap candidate is skipped when it reaches the front. Picking the
/// next grant is O(log holders) amortized, whatever the number of waiters.
public struct WaitQueue: Sendable {
    /// One queued request.
    public struct Waiter: Sendable, Hashable {
        /// The waiting lease.
        public var lease: Lease
        /// When the wait runs out; nil waits until cancelled.
        public var deadline: Timestamp?
        /// Arrival order; negative for requests sent back to the head.
        public var sequence: Int64
        /// Whether this request was sent back to the head of the queue.
        public var atHead: Bool { sequence < 0 }

        /// Creates a waiter (shared mode reads them back from the database).
        /// - Parameters:
        ///   - lease: the waiting lease.
        ///   - deadline: when its wait runs out.
        ///   - sequence: its arrival number; negative for requests sent back to the head.
        public init(lease: Lease, deadline: Timestamp?, sequence: Int64) {
            self.lease = lease
            self.deadline = deadline
            self.sequence = sequence
        }
    }

    private struct Entry: Sendable {
        var id: LeaseID
        var sequence: Int64
    }

    private struct HolderQueue: Sendable {
        var entries: Deque<Entry> = []
        var live = 0
    }

    private struct Candidate: Sendable, Comparable {
        var atHead: Bool
        var held: Int
        var headSequence: Int64
        var holder: HolderKey

        static func < (lhs: Candidate, rhs: Candidate) -> Bool {
            if lhs.atHead != rhs.atHead { return lhs.atHead }
            if lhs.held != rhs.held { return lhs.held < rhs.held }
            return lhs.headSequence < rhs.headSequence
        }
    }

    private struct Level: Sendable {
        var queues: [HolderKey: HolderQueue] = [:]
        var candidates = Heap<Candidate>()
        var live = 0
    }

    private struct DeadlineEntry: Sendable, Comparable {
        var deadline: Timestamp
        var id: LeaseID
        var sequence: Int64

        static func < (lhs: DeadlineEntry, rhs: DeadlineEntry) -> Bool {
            (lhs.deadline, lhs.sequence) < (rhs.deadline, rhs.sequence)
        }
    }

    /// Every live waiter by lease id.
    private var waiters: [LeaseID: Waiter] = [:]
    /// Levels by priority.
    private var levels: [Int: Level] = [:]
    /// Leases each holder holds now (granted, bound, draining); kept by the owner through `setHeld`.
    private var held: [HolderKey: Int] = [:]
    /// Live waiters per holder, for the per-holder cap.
    private var waitingPerHolder: [HolderKey: Int] = [:]
    /// Live waiters per uid, for the per-uid cap.
    private var waitingPerUID: [UInt32: Int] = [:]
    private var deadlines = Heap<DeadlineEntry>()
    /// Arrival sequences start high enough to leave room before the first (``enqueueByArrival(_:deadline:)``).
    private var nextSequence: Int64 = 1 << 40
    private var nextHeadSequence: Int64 = -1

    /// Creates an empty queue.
    public init() {}

    /// The number of waiters.
    public var count: Int { waiters.count }

    /// Whether nobody waits.
    public var isEmpty: Bool { waiters.isEmpty }

    /// The waiter for a lease id, if it waits.
    /// - Parameter id: the lease id.
    public subscript(id: LeaseID) -> Waiter? { waiters[id] }

    /// The number of waiters of one holder.
    /// - Parameter holder: the holder.
    public func waiting(for holder: HolderKey) -> Int { waitingPerHolder[holder, default: 0] }

    /// The number of waiters of one uid, all its holders together.
    /// - Parameter uid: the uid.
    public func waiting(forUID uid: UInt32) -> Int { waitingPerUID[uid, default: 0] }

    /// The number of leases a holder holds, as last set.
    /// - Parameter holder: the holder.
    public func held(by holder: HolderKey) -> Int { held[holder, default: 0] }

    /// The earliest waiter deadline, skipping removed waiters.
    public mutating func nextDeadline() -> Timestamp? {
        while let first = deadlines.min {
            if waiters[first.id]?.sequence == first.sequence { return first.deadline }
            _ = deadlines.popMin()
        }
        return nil
    }

    /// The oldest request time among the waiters (O(n); for status only).
    public var oldestRequest: Timestamp? {
        waiters.values.lazy.map(\.lease.requestedAt).min()
    }

    /// Arrival sequences leave this much room between two requests, so a request that comes back (a fleet host back
    /// from a database outage) can be put between the ones that arrived before and after it.
    static let sequenceGap: Int64 = 1 << 16

    /// Where requests sent back to the head with a known place start: below every counted head sequence, so their
    /// arrival order (the place) orders them among themselves.
    static let placedHeadBase = Int64.min / 2

    /// Adds a waiting lease.
    /// - Parameters:
    ///   - lease: a lease in state `waiting`.
    ///   - deadline: when its wait runs out.
    ///   - atHead: put it before every other waiter of its priority.
    ///   - place: with `atHead`, the sequence the request had when it was granted: requests sent back keep their
    ///     original order among themselves (first in, first out), ahead of every request that was never granted.
    public mutating func enqueue(_ lease: Lease, deadline: Timestamp?, atHead: Bool = false, place: Int64? = nil) {
        precondition(waiters[lease.id] == nil, "a lease waits once")
        let sequence: Int64
        if atHead, let place {
            sequence = place < 0 ? place : Self.placedHeadBase + place
        } else if atHead {
            sequence = nextHeadSequence
            nextHeadSequence -= 1
        } else {
            sequence = nextSequence
            nextSequence += Self.sequenceGap
        }
        let holder = lease.holderKey
        waiters[lease.id] = Waiter(lease: lease, deadline: deadline, sequence: sequence)
        waitingPerHolder[holder, default: 0] += 1
        waitingPerUID[holder.uid, default: 0] += 1
        // Mutate the level and its FIFO in place: copying them out of the dictionaries would copy every
        // holder's queue on each change (copy-on-write with two references).
        let entry = Entry(id: lease.id, sequence: sequence)
        let heldNow = held[holder, default: 0]
        Self.insert(entry, atHead: atHead, holder: holder, held: heldNow, into: &levels[lease.priority, default: Level()])
        if let deadline {
            if deadlines.count > 2 * waiters.count + 1024 {
                deadlines = Heap(deadlines.unordered.filter { waiters[$0.id]?.sequence == $0.sequence })
            }
            deadlines.insert(DeadlineEntry(deadline: deadline, id: lease.id, sequence: sequence))
        }
    }

    /// Adds a waiting lease that arrived earlier and was not in this queue (a fleet host's waiters after a database
    /// outage), at its place by arrival time among the waiters of its priority: after every one that arrived before
    /// it and before every one that arrived after it, when the sequences leave room; at the tail otherwise.
    /// - Parameters:
    ///   - lease: a lease in state `waiting`.
    ///   - deadline: when its wait runs out.
    public mutating func enqueueByArrival(_ lease: Lease, deadline: Timestamp?) {
        let peers = waiters.values.filter { $0.lease.priority == lease.priority && $0.sequence >= 0 }
        let before = peers.filter { $0.lease.requestedAt <= lease.requestedAt }.map(\.sequence).max()
        let after = peers.filter { $0.lease.requestedAt > lease.requestedAt }.map(\.sequence).min()
        guard let after else {
            enqueue(lease, deadline: deadline)
            return
        }
        let low = before ?? (after - Self.sequenceGap)
        guard after - low >= 2, low + (after - low) / 2 >= 0 else {
            enqueue(lease, deadline: deadline)
            return
        }
        restore(Waiter(lease: lease, deadline: deadline, sequence: low + (after - low) / 2), inOrder: false)
    }

    /// Puts back a waiter taken from another queue's `ordered()`, keeping its sequence (shared mode rebuilds the
    /// fleet's queue from the database for each operation).
    /// - Parameters:
    ///   - waiter: the waiter.
    ///   - inOrder: waiters come in ascending sequence order (appended); false inserts it at its place.
    public mutating func restore(_ waiter: Waiter, inOrder: Bool = true) {
        precondition(waiters[waiter.lease.id] == nil, "a lease waits once")
        let holder = waiter.lease.holderKey
        waiters[waiter.lease.id] = waiter
        waitingPerHolder[holder, default: 0] += 1
        waitingPerUID[holder.uid, default: 0] += 1
        let entry = Entry(id: waiter.lease.id, sequence: waiter.sequence)
        let heldNow = held[holder, default: 0]
        if inOrder {
            Self.append(entry, holder: holder, held: heldNow, into: &levels[waiter.lease.priority, default: Level()])
        } else {
            Self.insert(entry, atHead: true, holder: holder, held: heldNow, into: &levels[waiter.lease.priority, default: Level()])
        }
        if let deadline = waiter.deadline {
            deadlines.insert(DeadlineEntry(deadline: deadline, id: waiter.lease.id, sequence: waiter.sequence))
        }
        nextSequence = max(nextSequence, waiter.sequence + Self.sequenceGap)
        nextHeadSequence = min(nextHeadSequence, waiter.sequence - 1)
    }

    /// The next sequence numbers a waiter at the tail and at the head would get; shared mode carries them
    /// between operations so arrival order holds fleet-wide.
    public var sequenceCounters: (tail: Int64, head: Int64) {
        get { (nextSequence, nextHeadSequence) }
        set {
            nextSequence = max(nextSequence, newValue.tail)
            nextHeadSequence = min(nextHeadSequence, newValue.head)
        }
    }

    /// Removes a waiter in O(1): the FIFO entry and heap candidate are dropped lazily.
    /// - Parameter id: the lease id.
    /// - Returns: the removed waiter, or nil when it was not waiting.
    @discardableResult
    public mutating func remove(_ id: LeaseID) -> Waiter? {
        guard let waiter = waiters.removeValue(forKey: id) else { return nil }
        let holder = waiter.lease.holderKey
        let priority = waiter.lease.priority
        waitingPerHolder[holder, default: 1] -= 1
        if waitingPerHolder[holder] == 0 { waitingPerHolder[holder] = nil }
        waitingPerUID[holder.uid, default: 1] -= 1
        if waitingPerUID[holder.uid] == 0 { waitingPerUID[holder.uid] = nil }
        if levels[priority] != nil, Self.removeOne(holder, from: &levels[priority, default: Level()]) {
            levels[priority] = nil
        }
        return waiter
    }

    /// Records how many leases a holder holds now, which moves it in the grant order.
    /// - Parameters:
    ///   - count: leases held (granted, bound or draining).
    ///   - holder: the holder.
    public mutating func setHeld(_ count: Int, for holder: HolderKey) {
        guard held[holder, default: 0] != count else { return }
        held[holder] = count == 0 ? nil : count
        for priority in Array(levels.keys) where levels[priority]?.queues[holder] != nil {
            Self.pushCandidate(for: holder, held: count, into: &levels[priority, default: Level()], waiters)
        }
    }

    /// The waiter that would be granted next, without removing it.
    public mutating func first() -> Waiter? {
        guard let priority = levels.keys.max(),
            let holder = Self.best(&levels[priority, default: Level()], held, waiters),
            let head = levels[priority]?.queues[holder]?.entries.first
        else { return nil }
        return waiters[head.id]
    }

    /// Removes and returns the waiter to grant next.
    public mutating func popFirst() -> Waiter? {
        guard let waiter = first() else { return nil }
        remove(waiter.lease.id)
        return waiter
    }

    /// Removes and returns every waiter whose deadline is at or before `now`.
    /// - Parameter now: the current time.
    public mutating func popExpired(now: Timestamp) -> [Waiter] {
        var expired: [Waiter] = []
        while let first = deadlines.min, first.deadline <= now {
            _ = deadlines.popMin()
            if waiters[first.id]?.sequence == first.sequence, let waiter = remove(first.id) {
                expired.append(waiter)
            }
        }
        return expired
    }

    /// Removes and returns every waiter (shutdown).
    public mutating func removeAll() -> [Waiter] {
        let all = ordered()
        self = WaitQueue()
        return all
    }

    /// Every waiter in the order they would be granted if nothing else changed (O(n log holders)).
    ///
    /// Grants change holders' counts, so the order is simulated: after a holder's head is granted, its
    /// next waiter competes with one more lease held.
    public func ordered() -> [Waiter] {
        var result: [Waiter] = []
        result.reserveCapacity(waiters.count)
        var heldNow = held
        for priority in levels.keys.sorted(by: >) {
            guard let level = levels[priority] else { continue }
            var cursors: [HolderKey: Deque<Entry>.Index] = [:]
            var heap = Heap<Candidate>()
            for (holder, queue) in level.queues {
                guard let index = Self.nextLive(queue.entries, from: queue.entries.startIndex, waiters) else { continue }
                cursors[holder] = index
                let entry = queue.entries[index]
                heap.insert(Candidate(atHead: entry.sequence < 0, held: heldNow[holder, default: 0], headSequence: entry.sequence, holder: holder))
            }
            while let candidate = heap.popMin() {
                guard let queue = level.queues[candidate.holder], let index = cursors[candidate.holder] else { continue }
                let entry = queue.entries[index]
                if let waiter = waiters[entry.id] { result.append(waiter) }
                heldNow[candidate.holder, default: 0] += 1
                if let next = Self.nextLive(queue.entries, from: index + 1, waiters) {
                    cursors[candidate.holder] = next
                    let nextEntry = queue.entries[next]
                    heap.insert(
                        Candidate(
                            atHead: nextEntry.sequence < 0,
                            held: heldNow[candidate.holder, default: 0],
                            headSequence: nextEntry.sequence,
                            holder: candidate.holder
                        )
                    )
                }
            }
        }
        return result
    }

    private static func nextLive(_ entries: Deque<Entry>, from start: Int, _ waiters: [LeaseID: Waiter]) -> Int? {
        var index = start
        while index < entries.endIndex {
            let entry = entries[index]
            if waiters[entry.id]?.sequence == entry.sequence { return index }
            index += 1
        }
        return nil
    }

    /// Drops stale entries from the front of a holder's FIFO and returns the live head.
    private static func cleanHead(_ queue: inout HolderQueue, _ waiters: [LeaseID: Waiter]) -> Entry? {
        while let head = queue.entries.first {
            if waiters[head.id]?.sequence == head.sequence { return head }
            queue.entries.removeFirst()
        }
        return nil
    }

    /// Pops stale candidates until the heap's minimum is true for its holder, and returns that holder.
    private static func best(_ level: inout Level, _ held: [HolderKey: Int], _ waiters: [LeaseID: Waiter]) -> HolderKey? {
        if level.candidates.count > 4 * level.queues.count + 64 {
            rebuild(&level, held, waiters)
        }
        while let candidate = level.candidates.min {
            guard level.queues[candidate.holder] != nil,
                let head = cleanHead(&level.queues[candidate.holder, default: HolderQueue()], waiters)
            else {
                _ = level.candidates.popMin()
                continue
            }
            let truth = Candidate(
                atHead: head.sequence < 0,
                held: held[candidate.holder, default: 0],
                headSequence: head.sequence,
                holder: candidate.holder
            )
            if truth == candidate { return candidate.holder }
            _ = level.candidates.popMin()
            level.candidates.insert(truth)
        }
        return nil
    }

    private static func insert(_ entry: Entry, atHead: Bool, holder: HolderKey, held: Int, into level: inout Level) {
        level.live += 1
        let becameHead = appendEntry(entry, atHead: atHead, to: &level.queues[holder, default: HolderQueue()])
        if becameHead {
            level.candidates.insert(Candidate(atHead: entry.sequence < 0, held: held, headSequence: entry.sequence, holder: holder))
        }
    }

    /// Appends in sequence order; the candidate carries the entry's own head mark.
    private static func append(_ entry: Entry, holder: HolderKey, held: Int, into level: inout Level) {
        level.live += 1
        if appendEntry(entry, atHead: false, to: &level.queues[holder, default: HolderQueue()]) {
            level.candidates.insert(Candidate(atHead: entry.sequence < 0, held: held, headSequence: entry.sequence, holder: holder))
        }
    }

    private static func appendEntry(_ entry: Entry, atHead: Bool, to queue: inout HolderQueue) -> Bool {
        if atHead {
            // Entries put back (at the head, or by arrival) go in sequence order into the holder's FIFO.
            let index = queue.entries.firstIndex { $0.sequence > entry.sequence } ?? queue.entries.endIndex
            queue.entries.insert(entry, at: index)
        } else {
            queue.entries.append(entry)
        }
        queue.live += 1
        return atHead || queue.live == 1
    }

    /// Drops one live waiter of `holder` from a level; returns whether the level is now empty.
    private static func removeOne(_ holder: HolderKey, from level: inout Level) -> Bool {
        level.live -= 1
        if level.queues[holder] != nil {
            level.queues[holder, default: HolderQueue()].live -= 1
            if level.queues[holder]?.live == 0 { level.queues[holder] = nil }
        }
        return level.live == 0
    }

    private static func pushCandidate(for holder: HolderKey, held: Int, into level: inout Level, _ waiters: [LeaseID: Waiter]) {
        guard let head = cleanHead(&level.queues[holder, default: HolderQueue()], waiters) else { return }
        level.candidates.insert(Candidate(atHead: head.sequence < 0, held: held, headSequence: head.sequence, holder: holder))
    }

    private static func rebuild(_ level: inout Level, _ held: [HolderKey: Int], _ waiters: [LeaseID: Waiter]) {
        var candidates: [Candidate] = []
        for holder in Array(level.queues.keys) {
            guard let head = cleanHead(&level.queues[holder, default: HolderQueue()], waiters) else { continue }
            candidates.append(Candidate(atHead: head.sequence < 0, held: held[holder, default: 0], headSequence: head.sequence, holder: holder))
        }
        level.candidates = Heap(candidates)
    }
}
