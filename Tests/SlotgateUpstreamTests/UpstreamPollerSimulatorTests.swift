//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import Logging
import ServiceLifecycle
import SlotgateCore
import SlotgateUpstream
import Testing

@Suite("UpstreamPoller against the simulator", .timeLimit(.minutes(1)))
struct UpstreamPollerSimulatorTests {
    @Test func pollsTheSimulatorAndStopsOnGracefulShutdown() async throws {
        try await SimulatorHarness.run(simulator: SimulatorHarness.simulator { $0.limit = 500 }) { context in
            var ids: [String] = []
            for _ in 0..<150 {
                ids.append(await context.platform.createExternalSession())
            }
            let ended = ids[0]
            await context.platform.finishSession(ended, status: "timed_out")

            let observer = RecordingObserver(pace: .fast)
            let (work, workContinuation) = AsyncStream.makeStream(of: UpstreamWork.self)
            let poller = UpstreamPoller(
                client: context.client,
                observer: observer,
                work: work,
                settings: PollerSettings(fastInterval: .milliseconds(50), idleInterval: .seconds(30), tokenInterval: .seconds(60)),
                clock: WallClock(),
                logger: context.logs.logger(label: "poller")
            )
            let group = ServiceGroup(services: [poller], logger: Logger(label: "group"))
            var events = EventReader(observer)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }

                var snapshots: [PlatformSnapshot] = []
                while snapshots.count < 5, let snapshot = await events.nextSnapshot() {
                    snapshots.append(snapshot)
                }
                for snapshot in snapshots {
                    #expect(snapshot.quota == QuotaReading(scope: .org, limit: 500, active: 149))
                    #expect(snapshot.sessions?.count == 149)
                    #expect(snapshot.sessions?.contains { $0.id == ended } == false)
                }
                #expect(zip(snapshots, snapshots.dropFirst()).allSatisfy { $0.sentAt < $1.sentAt })

                workContinuation.yield(.confirmSession(ended))
                let (id, status, _) = try #require(await events.nextSession())
                #expect(id == ended)
                #expect(status == .timedOut)

                await group.triggerGracefulShutdown()
                // The poller's run() returns on graceful shutdown, so the group finishes.
                try await tasks.waitForAll()
            }

            let polls = poller.status.polls
            let stats = await context.platform.stats()
            let lists = stats.requests["list", default: 0]
            let quotas = stats.requests["quota", default: 0]
            // Two pages per poll (149 sessions), one quota read per poll plus the first scope read.
            #expect(lists <= 2 * polls)
            #expect(lists >= 2 * (polls - 1))
            #expect(quotas <= polls + 1)
            // The token quota at most once a minute (on a loaded machine the polls may leave no turn for it).
            #expect(stats.requests["tokens", default: 0] <= 1)
            #expect(stats.requests["status", default: 0] == 1)
            #expect(poller.lastGoodReadingAt != nil)
        }
    }
}
