//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// A fake gatekeeper: answers the pace a test sets and reports every observation through a stream.
actor RecordingObserver: PlatformObserver {
    enum Event: Sendable {
        case snapshot(PlatformSnapshot)
        case tokens(TokenReading)
        case failure(String, Timestamp)
        case session(String, SessionStatus?, Timestamp)
    }

    private var pace: PollingPace
    private let continuation: AsyncStream<Event>.Continuation
    nonisolated let events: AsyncStream<Event>
    private(set) var snapshots: [PlatformSnapshot] = []

    init(pace: PollingPace = .fast) {
        self.pace = pace
        (events, continuation) = AsyncStream.makeStream()
    }

    func set(pace: PollingPace) { self.pace = pace }

    func pollingPace() -> PollingPace { pace }

    func observe(_ snapshot: PlatformSnapshot) {
        snapshots.append(snapshot)
        continuation.yield(.snapshot(snapshot))
    }

    func observeTokens(_ reading: TokenReading) {
        continuation.yield(.tokens(reading))
    }

    func observePollFailure(_ reason: String, at: Timestamp) {
        continuation.yield(.failure(reason, at))
    }

    func observeSession(_ id: String, status: SessionStatus?, at: Timestamp) {
        continuation.yield(.session(id, status, at))
    }
}

/// Reads a stream of observer events in a test, skipping the kinds a step does not care about.
struct EventReader {
    private var iterator: AsyncStream<RecordingObserver.Event>.Iterator

    init(_ observer: RecordingObserver) {
        iterator = observer.events.makeAsyncIterator()
    }

    mutating func next() async -> RecordingObserver.Event? {
        await iterator.next()
    }

    mutating func nextSnapshot() async -> PlatformSnapshot? {
        while let event = await iterator.next() {
            if case .snapshot(let snapshot) = event { return snapshot }
        }
        return nil
    }

    mutating func nextFailure() async -> (String, Timestamp)? {
        while let event = await iterator.next() {
            if case .failure(let reason, let at) = event { return (reason, at) }
        }
        return nil
    }

    mutating func nextTokens() async -> TokenReading? {
        while let event = await iterator.next() {
            if case .tokens(let reading) = event { return reading }
        }
        return nil
    }

    mutating func nextSession() async -> (String, SessionStatus?, Timestamp)? {
        while let event = await iterator.next() {
            if case .session(let id, let status, let at) = event { return (id, status, at) }
        }
        return nil
    }
}
