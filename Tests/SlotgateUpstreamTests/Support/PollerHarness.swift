//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateCore

@testable import SlotgateUpstream

/// Runs a poller against a fake platform and a recording observer on a test clock for the duration of `body`.
struct PollerHarness {
    let clock: TestClock
    let client: FakePlatformClient
    let observer: RecordingObserver
    let poller: UpstreamPoller
    let work: AsyncStream<UpstreamWork>.Continuation
    var events: EventReader

    static func settings(
        fast: Duration = .seconds(2),
        idle: Duration = .seconds(30),
        tokens: Duration = .seconds(60),
        maxConcurrentSessionWork: Int = 4
    ) -> PollerSettings {
        PollerSettings(
            fastInterval: fast,
            idleInterval: idle,
            tokenInterval: tokens,
            backoff: Backoff(base: .seconds(1), cap: .seconds(60)),
            jitter: .fixed(1),
            minimumGap: .zero,
            maxConcurrentSessionWork: maxConcurrentSessionWork
        )
    }

    static func run(
        settings: PollerSettings = Self.settings(),
        pace: PollingPace = .fast,
        tickPerCall: Duration = .zero,
        configure: (FakePlatformClient) async -> Void = { _ in },
        _ body: (inout PollerHarness) async throws -> Void
    ) async throws {
        let clock = TestClock()
        let client = FakePlatformClient(clock: clock, tickPerCall: tickPerCall)
        await configure(client)
        let observer = RecordingObserver(pace: pace)
        let (stream, continuation) = AsyncStream.makeStream(of: UpstreamWork.self)
        let poller = UpstreamPoller(
            client: client,
            observer: observer,
            work: stream,
            settings: settings,
            clock: clock,
            logger: Logger(label: "poller-test")
        )
        var harness = PollerHarness(
            clock: clock,
            client: client,
            observer: observer,
            poller: poller,
            work: continuation,
            events: EventReader(observer)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await poller.run() }
            do {
                try await body(&harness)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// Advances the clock and returns once the poller (and any session worker) is parked again.
    func advance(by duration: Duration, sleepers: Int = 1) async {
        clock.advance(by: duration)
        await clock.waitForSleepers(sleepers)
    }

    /// Returns once the poll loop sleeps.
    func settle(sleepers: Int = 1) async {
        await clock.waitForSleepers(sleepers)
    }
}
