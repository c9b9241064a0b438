//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The simulator as `upstream.simulate` runs it: runs of tens of seconds that end on their own, and tokens
/// consumed while they run (agp-api.md §3, §4.6).
@Suite("Runs that end on their own and consume tokens")
struct TokenUseTests {
    static func platformLike(_ change: (inout SimulatorConfiguration) -> Void = { _ in }) -> SimulatorConfiguration {
        configuration {
            $0.limit = 20
            $0.runDuration = .seconds(30)...(.seconds(180))
            $0.endStatuses = ["completed", "failed", "timed_out"]
            $0.tokensPerSecond = 250
            change(&$0)
        }
    }

    @Test func sessionsEndOnTheirOwnWithinTheRunRange() async throws {
        try await withSimulator(Self.platformLike()) { client, platform, clock in
            var ids: [String] = []
            for _ in 0..<10 { ids.append(try await client.create()) }
            clock.advance(by: .milliseconds(100) + .seconds(30) - .milliseconds(1))  // pending + shortest run, less 1 ms
            for id in ids { #expect(try await client.status(id) == "running") }
            clock.advance(by: .seconds(150) + .milliseconds(2))
            for id in ids {
                let status = try await client.status(id)
                #expect(["completed", "failed", "timed_out"].contains(status ?? ""))
            }
            #expect(await platform.stats().nonTerminal == 0)
            #expect(try await client.quota()["active"] as? Int == 0)
        }
    }

    @Test func tokensGrowWhileSessionsRunAndStopWhenTheyEnd() async throws {
        let config = Self.platformLike { $0.runDuration = .seconds(10)...(.seconds(10)) }
        try await withSimulator(config) { client, _, clock in
            func used() async throws -> (used: Int?, remaining: Int?) {
                let tokens = try json(try await client.get("/api/v2/quota/tokens"))
                return (tokens["used"] as? Int, tokens["remaining"] as? Int)
            }
            _ = try await client.create()
            _ = try await client.create()
            #expect(try await used().used == 0)  // still pending
            clock.advance(by: .milliseconds(100) + .seconds(4))
            let during = try await used()
            #expect(during.used == 2 * 4 * 250)
            #expect(during.remaining == 15_000_000 - 2 * 4 * 250)
            clock.advance(by: .seconds(6) + .milliseconds(1))  // both end after their 10 s run
            #expect(try await used().used == 2 * 10 * 250)
            clock.advance(by: .seconds(60))
            #expect(try await used().used == 2 * 10 * 250)
        }
    }

    @Test func tokenUseIsOffUnlessConfigured() async throws {
        try await withSimulator { client, _, clock in
            _ = try await client.create()
            clock.advance(by: .milliseconds(300))
            let tokens = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(tokens["used"] as? Int == 0)
        }
    }

    @Test func theWindowIsTheCalendarMonthOfTheSimulatorClock() async throws {
        try await withSimulator(Self.platformLike()) { client, _, _ in
            // The manual clock starts at 2027-01-15T08:00:00Z, whatever today's date is.
            let tokens = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(tokens["window_start"] as? String == "2027-01-01T00:00:00Z")
            #expect(tokens["window_end"] as? String == "2027-02-01T00:00:00Z")
        }
    }
}

extension TokenUseTests {
    @Test func aNewMonthCountsFromZeroAgain() async throws {
        // 2027-01-31T23:59:00Z: a run that starts a minute before the month ends.
        let clock = ManualClock(Date(timeIntervalSince1970: 1_801_439_940))
        let config = Self.platformLike { $0.runDuration = .seconds(120)...(.seconds(120)) }
        try await withSimulator(config, clock: clock) { client, _, clock in
            _ = try await client.create()
            clock.advance(by: .milliseconds(100) + .seconds(90))  // 00:00:30.1Z on February 1
            let tokens = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(tokens["window_start"] as? String == "2027-02-01T00:00:00Z")
            #expect(tokens["used"] as? Int == 30_100 * 250 / 1000)  // 30.1 s of February
        }
    }
}
