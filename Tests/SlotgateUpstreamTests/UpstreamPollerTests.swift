//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

@testable import SlotgateUpstream

@Suite("UpstreamPoller", .timeLimit(.minutes(1)))
struct UpstreamPollerTests {
    static func unavailable(retryAfter: Duration? = nil) -> AGPError {
        AGPError(kind: .http, route: "GET /sessions/quota", status: 503, message: "Service Unavailable", retryAfter: retryAfter)
    }

    @Test func eachPollReadsTheQuotaThenListsForItsScope() async throws {
        try await PollerHarness.run(tickPerCall: .milliseconds(1)) { client in
            await client.set(quota: QuotaReading(scope: .user, limit: 5, active: 1))
            await client.set(sessions: [ListedSession(id: "s1", status: .running)])
        } _: { harness in
            let first = try #require(await harness.events.nextSnapshot())
            await harness.settle()
            #expect(first.quota == QuotaReading(scope: .user, limit: 5, active: 1))
            #expect(first.sessions == [ListedSession(id: "s1", status: .running)])

            let calls = await harness.client.calls
            #expect(calls.map(\.call) == [.quota, .list(.me), .tokens])
            // The quota is read at the snapshot's sentAt, the list after it, for the quota's scope.
            #expect(first.sentAt <= calls[0].at)
            #expect(calls[0].at < calls[1].at)

            await harness.advance(by: .seconds(2))
            let second = try #require(await harness.events.nextSnapshot())
            let later = await harness.client.calls.dropFirst(3).map(\.call)
            #expect(later == [.quota, .list(.me)])
            #expect(second.sentAt > first.sentAt)
        }
    }

    @Test func orgScopeListsTheOrganization() async throws {
        try await PollerHarness.run { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            let calls = await harness.client.calls.map(\.call)
            #expect(calls.contains(.list(.organization)))
        }
    }

    @Test func fastAndIdleIntervals() async throws {
        try await PollerHarness.run(pace: .fast) { harness in
            let first = try #require(await harness.events.nextSnapshot())
            await harness.settle()
            #expect(harness.clock.nextDeadline == first.sentAt.advanced(by: .seconds(2)))

            await harness.advance(by: .seconds(1))
            #expect(await harness.client.count("list") == 1)
            await harness.observer.set(pace: .idle)
            await harness.advance(by: .seconds(1))
            let second = try #require(await harness.events.nextSnapshot())
            #expect(second.sentAt == first.sentAt.advanced(by: .seconds(2)))
            // The pace is read after each poll: idle now, so the next poll is 30 s later.
            #expect(harness.clock.nextDeadline == second.sentAt.advanced(by: .seconds(30)))
            await harness.advance(by: .seconds(29))
            #expect(await harness.client.count("list") == 2)
            await harness.advance(by: .seconds(1))
            let third = try #require(await harness.events.nextSnapshot())
            #expect(third.sentAt == second.sentAt.advanced(by: .seconds(30)))
        }
    }

    /// Someone starts waiting while the poller sleeps its idle interval: the next poll comes one fast interval after
    /// the last, not 30 s later, and without an extra immediate poll.
    @Test func aPaceChangeToFastShortensTheIdleWait() async throws {
        try await PollerHarness.run(pace: .idle) { harness in
            let first = try #require(await harness.events.nextSnapshot())
            await harness.settle()
            #expect(harness.clock.nextDeadline == first.sentAt.advanced(by: .seconds(30)))
            await harness.observer.set(pace: .fast)
            harness.work.yield(.paceChanged)
            // The poller wakes, re-reads the pace and goes back to sleep with the earlier deadline.
            let expected = first.sentAt.advanced(by: .seconds(2))
            for _ in 0..<10_000 where harness.clock.nextDeadline != expected { await Task.yield() }
            #expect(harness.clock.nextDeadline == expected)
            #expect(await harness.client.count("list") == 1)
            await harness.advance(by: .seconds(2))
            let second = try #require(await harness.events.nextSnapshot())
            #expect(second.sentAt == first.sentAt.advanced(by: .seconds(2)))
        }
    }

    @Test func pollNowFromTheWorkStreamPollsAtOnce() async throws {
        try await PollerHarness.run(pace: .idle) { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            let before = harness.clock.now
            harness.work.yield(.pollNow)
            let second = try #require(await harness.events.nextSnapshot())
            #expect(second.sentAt == before)
            #expect(await harness.client.count("list") == 2)
        }
    }

    @Test func pollNowRequestsDuringAPollCoalesceIntoOneFollowUp() async throws {
        try await PollerHarness.run(pace: .idle) { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            await harness.client.hold("list")
            harness.poller.pollNow()
            await harness.client.waitUntil("list", count: 2)
            // A poll is in flight (held in its list request); ask five more times.
            for _ in 0..<5 { harness.poller.pollNow() }
            await harness.client.release("list")
            _ = await harness.events.nextSnapshot()
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            #expect(await harness.client.count("list") == 3)
            #expect(await harness.client.count("quota") == 3)
            #expect(harness.clock.nextDeadline == harness.clock.now.advanced(by: .seconds(30)))
        }
    }

    @Test func pollNowRespectsTheMinimumGap() async throws {
        var settings = PollerHarness.settings()
        settings.minimumGap = .milliseconds(500)
        try await PollerHarness.run(settings: settings, pace: .idle) { harness in
            let first = try #require(await harness.events.nextSnapshot())
            await harness.settle()
            let registrations = harness.clock.registrations
            harness.poller.pollNow()
            // The request wakes the loop, which sleeps again until the gap has passed.
            await harness.clock.waitForRegistrations(registrations + 1)
            #expect(harness.clock.nextDeadline == first.sentAt.advanced(by: .milliseconds(500)))
            await harness.advance(by: .milliseconds(100))
            #expect(await harness.client.count("list") == 1)
            await harness.advance(by: .milliseconds(400))
            let second = try #require(await harness.events.nextSnapshot())
            #expect(second.sentAt == first.sentAt.advanced(by: .milliseconds(500)))
        }
    }

    @Test func failuresBackOffThenRecover() async throws {
        try await PollerHarness.run { client in
            await client.fail("quota", with: [Self.unavailable(), Self.unavailable(), Self.unavailable(retryAfter: .seconds(7))])
        } _: { harness in
            let start = harness.clock.now
            let (reason, at) = try #require(await harness.events.nextFailure())
            #expect(reason.contains("503"))
            #expect(at == start)
            await harness.settle()
            // Full jitter with the unit fixed at 1: the ceilings 1 s, 2 s, then Retry-After.
            #expect(harness.clock.nextDeadline == start.advanced(by: .seconds(1)))
            #expect(harness.poller.status.consecutiveFailures == 1)
            #expect(harness.poller.lastGoodReadingAt == nil)

            // Asking for a poll during the backoff does not shorten it.
            let registrations = harness.clock.registrations
            harness.poller.pollNow()
            await harness.clock.waitForRegistrations(registrations + 1)
            #expect(harness.clock.nextDeadline == start.advanced(by: .seconds(1)))
            await harness.advance(by: .milliseconds(500))
            #expect(await harness.client.count("quota") == 1)

            await harness.advance(by: .milliseconds(500))
            _ = await harness.events.nextFailure()
            #expect(harness.clock.nextDeadline == harness.clock.now.advanced(by: .seconds(2)))

            await harness.advance(by: .seconds(2))
            _ = await harness.events.nextFailure()
            #expect(harness.clock.nextDeadline == harness.clock.now.advanced(by: .seconds(7)))
            #expect(harness.poller.status.consecutiveFailures == 3)

            await harness.advance(by: .seconds(7))
            let snapshot = try #require(await harness.events.nextSnapshot())
            await harness.settle()
            #expect(harness.poller.status.consecutiveFailures == 0)
            #expect(harness.poller.status.lastFailure == nil)
            #expect(harness.poller.lastGoodReadingAt == snapshot.sentAt)
            #expect(harness.poller.lastGoodReadingAge == .zero)
            harness.clock.advance(by: .milliseconds(1500))
            #expect(harness.poller.lastGoodReadingAge == .milliseconds(1500))
        }
    }

    @Test func aRefusedListStillReportsTheQuota() async throws {
        let refused = AGPError(kind: .http, route: "GET /sessions", status: 422, message: "bad owner")
        try await PollerHarness.run { client in
            await client.fail("list", with: [refused])
        } _: { harness in
            let first = try #require(await harness.events.nextSnapshot())
            // Nothing is tracked, so no status read stands in: an empty, partial reading.
            #expect(first.sessions == [])
            #expect(!first.sessionsComplete)
            await harness.advance(by: .seconds(2))
            let second = try #require(await harness.events.nextSnapshot())
            #expect(second.sessions == [])
            #expect(second.sessionsComplete, "the list answers again")
        }
    }

    @Test func aTransientListFailureFailsThePoll() async throws {
        try await PollerHarness.run { client in
            await client.fail("list", with: [AGPError(kind: .timeout, route: "GET /sessions")])
        } _: { harness in
            _ = try #require(await harness.events.nextFailure())
            await harness.settle()
            #expect(await harness.client.count("quota") == 1)
            #expect(await harness.observer.snapshots.isEmpty)
        }
    }

    @Test func tokensAreReadAtMostOncePerInterval() async throws {
        try await PollerHarness.run(pace: .fast) { harness in
            let tokens = try #require(await harness.events.nextTokens())
            #expect(tokens.remaining == 90)
            await harness.settle()
            let start = harness.clock.now
            for _ in 0..<40 {
                await harness.advance(by: .seconds(2))
            }
            // 80 s of polling every 2 s: 41 polls, tokens at 0 s and 60 s only.
            #expect(await harness.client.count("list") == 41)
            #expect(await harness.client.count("tokens") == 2)
            let tokenTimes = await harness.client.calls.filter { $0.call == .tokens }.map(\.at)
            #expect(tokenTimes.last == start.advanced(by: .seconds(60)))
        }
    }

    @Test func aFailedTokenReadIsRetriedWithTheBackoff() async throws {
        try await PollerHarness.run(pace: .idle) { client in
            await client.fail("tokens", with: [AGPError(kind: .transport, route: "GET /quota/tokens")])
        } _: { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            let start = harness.clock.now
            #expect(await harness.client.count("tokens") == 1)
            #expect(harness.clock.nextDeadline == start.advanced(by: .seconds(1)))
            await harness.advance(by: .seconds(1))
            let reading = try #require(await harness.events.nextTokens())
            #expect(reading.sentAt == start.advanced(by: .seconds(1)))
            // The token retry did not poll.
            #expect(await harness.client.count("list") == 1)
        }
    }

    @Test func platformCallsPerIntervalDoNotDependOnHowManySessionsExist() async throws {
        var counts: [Int] = []
        for sessionCount in [0, 1, 5000] {
            try await PollerHarness.run(pace: .fast) { client in
                await client.set(sessions: (0..<sessionCount).map { ListedSession(id: "s\($0)", status: .running) })
                await client.set(quota: QuotaReading(scope: .org, limit: 10_000, active: sessionCount))
            } _: { harness in
                _ = await harness.events.nextSnapshot()
                await harness.settle()
                for _ in 0..<10 {
                    await harness.advance(by: .seconds(2))
                }
                counts.append(await harness.client.calls.count)
                #expect(await harness.client.count("status") == 0)
            }
        }
        // 11 polls of quota + list and one token read: the same whatever the number of sessions.
        #expect(counts == [23, 23, 23])
    }

    @Test func confirmSessionReportsTheStatusOrNilOn404() async throws {
        try await PollerHarness.run(pace: .idle) { client in
            await client.set(status: .completed, for: "done")
        } _: { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            harness.work.yield(.confirmSession("done"))
            harness.work.yield(.confirmSession("gone"))
            var seen: [String: SessionStatus?] = [:]
            for _ in 0..<2 {
                let (id, status, at) = try #require(await harness.events.nextSession())
                #expect(at == harness.clock.now)
                seen.updateValue(status, forKey: id)
            }
            let expected: [String: SessionStatus?] = ["done": .completed, "gone": nil]
            #expect(seen == expected)
        }
    }

    @Test func cancelSessionCancelsThenReadsTheStatus() async throws {
        try await PollerHarness.run(pace: .idle) { client in
            await client.set(status: .running, for: "live")
        } _: { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            harness.work.yield(.cancelSession("live"))
            let (id, status, _) = try #require(await harness.events.nextSession())
            #expect(id == "live")
            #expect(status == .interrupted)
            let calls = await harness.client.calls.map(\.call).filter { $0.kind == "cancel" || $0.kind == "status" }
            #expect(calls == [.cancel("live"), .status("live")])
        }
    }

    @Test func sessionWorkIsDeduplicatedAndBounded() async throws {
        try await PollerHarness.run(settings: PollerHarness.settings(maxConcurrentSessionWork: 2), pace: .idle) { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            await harness.client.hold("status")
            for id in ["a", "a", "a", "b", "c", "d", "b"] {
                harness.work.yield(.confirmSession(id))
            }
            // The work stream is read in order: once this poll is observed, every confirm above was admitted.
            harness.work.yield(.pollNow)
            _ = await harness.events.nextSnapshot()
            // Two run at once; the others wait for a free worker.
            await harness.client.waitUntil("status", count: 2)
            #expect(await harness.client.count("status") == 2)
            await harness.client.release("status")
            var reported: [String] = []
            for _ in 0..<4 {
                let (id, _, _) = try #require(await harness.events.nextSession())
                reported.append(id)
            }
            #expect(reported.sorted() == ["a", "b", "c", "d"])
            #expect(await harness.client.count("status") == 4)
            #expect(await harness.client.maxRunning["status"] == 2)
        }
    }

    @Test func sessionWorkRetriesTransientFailuresWithBackoff() async throws {
        try await PollerHarness.run(pace: .idle) { client in
            await client.set(status: .failed, for: "s")
            await client.fail("status", with: [Self.unavailable()])
        } _: { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            harness.work.yield(.confirmSession("s"))
            // The poll loop and the session worker's backoff both sleep.
            await harness.settle(sleepers: 2)
            #expect(await harness.client.count("status") == 1)
            harness.clock.advance(by: .seconds(1))
            let (id, status, _) = try #require(await harness.events.nextSession())
            #expect(id == "s")
            #expect(status == .failed)
            #expect(await harness.client.count("status") == 2)
        }
    }

    @Test func sessionWorkDropsPermanentFailures() async throws {
        try await PollerHarness.run(settings: PollerHarness.settings(maxConcurrentSessionWork: 1), pace: .idle) { client in
            await client.fail("status", with: [AGPError(kind: .http, route: "GET /sessions/{id}/status", status: 422)])
            await client.set(status: .running, for: "next")
        } _: { harness in
            _ = await harness.events.nextSnapshot()
            await harness.settle()
            harness.work.yield(.confirmSession("bad"))
            harness.work.yield(.confirmSession("next"))
            let (id, _, _) = try #require(await harness.events.nextSession())
            #expect(id == "next")
            #expect(await harness.client.count("status") == 2)
        }
    }
}
