//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import AGPSimulator

@Suite("Quota scope, external sessions and token quota (§4.5, §4.6, §7)")
struct QuotaTests {
    @Test func externalSessionsCountInOrgScope() async throws {
        try await withSimulator { client, platform, _ in
            try await client.create()
            await platform.createExternalSession()
            let quota = try await client.quota()
            #expect(quota["active"] as? Int == 2)
            #expect(quota["available"] as? Int == 1)
            let mine = try json(try await client.get("/api/v2/sessions?owner=me"))
            #expect(mine["total"] as? Int == 1)
            let defaultScope = try json(try await client.get("/api/v2/sessions"))
            #expect(defaultScope["total"] as? Int == 1)
            let org = try json(try await client.get("/api/v2/sessions?owner=organization"))
            #expect(org["total"] as? Int == 2)
            let either = try json(try await client.get("/api/v2/sessions?owner=me-or-organization"))
            #expect(either["total"] as? Int == 2)
            #expect(try await client.get("/api/v2/sessions?owner=everyone").status == .unprocessableContent)
            try await client.create()
            #expect(try await client.post("/api/v2/sessions", #"{"agent": "a"}"#).status == .tooManyRequests)
            let stats = await platform.stats()
            #expect(stats.externalCreated == 1)
            #expect(stats.peakNonTerminal == 3)
        }
    }

    @Test func userScopeCountsOnlyTheKeysOwnSessions() async throws {
        try await withSimulator(configuration { $0.scope = "user" }) { client, platform, _ in
            try await client.create()
            for _ in 0..<3 { await platform.createExternalSession() }
            let quota = try await client.quota()
            #expect(quota["scope"] as? String == "user")
            #expect(quota["active"] as? Int == 1)
            try await client.create()
            try await client.create()
            #expect(try await client.post("/api/v2/sessions", #"{"agent": "a"}"#).status == .tooManyRequests)
            #expect(await platform.stats().peakNonTerminal == 6)
        }
    }

    @Test func externalSessionsEndOnTheirOwnRunLength() async throws {
        try await withSimulator { client, platform, clock in
            let id = await platform.createExternalSession(runDuration: .seconds(5))
            clock.advance(by: .seconds(4))
            #expect(await platform.status(of: id) == "running")
            clock.advance(by: .seconds(2))
            #expect(await platform.status(of: id) == "completed")
            let response = try await client.post("/_sim/external", #"{"count": 2, "run_ms": 100}"#)
            let ids = try #require(try json(response)["ids"] as? [String])
            #expect(ids.count == 2)
            #expect(try await client.quota()["active"] as? Int == 2)
        }
    }

    @Test func tokenQuotaDefaults() async throws {
        try await withSimulator { client, _, _ in
            let tokens = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(tokens["limit"] as? Int == 15_000_000)
            #expect(tokens["used"] as? Int == 0)
            #expect(tokens["remaining"] as? Int == 15_000_000)
            // The manual clock starts at 1_800_000_000 s, 2027-01-15T08:00:00Z: the window is that month.
            #expect(tokens["window_start"] as? String == "2027-01-01T00:00:00Z")
            #expect(tokens["window_end"] as? String == "2027-02-01T00:00:00Z")
        }
    }

    /// The default window is the month around the simulator's clock on any date, so nothing that reads it
    /// depends on the calendar (it once ended on a fixed date and turned the token tests red after it).
    @Test func tokenWindowFollowsTheClock() async throws {
        var generator = SystemRandomNumberGenerator()
        let instants =
            [Date(timeIntervalSince1970: 1_798_761_599), Date(timeIntervalSince1970: 1_798_761_600), Date()]
            + (0..<200).map { _ in Date(timeIntervalSince1970: Double.random(in: 0...4_000_000_000, using: &generator)) }
        for instant in instants {
            let (start, end) = TokenWindow.month(around: instant)
            #expect(start <= instant && instant < end, "\(instant)")
            #expect((28 * 86_400...31 * 86_400).contains(end.timeIntervalSince(start)), "\(instant)")
        }
        let newYear = TokenWindow.currentMonth().bounds(at: Date(timeIntervalSince1970: 1_798_761_599))
        #expect(newYear.start == "2026-12-01T00:00:00Z" && newYear.end == "2027-01-01T00:00:00Z")
        let clock = ManualClock(Date(timeIntervalSince1970: 1_798_761_599))
        try await withSimulator(clock: clock) { client, _, clock in
            let before = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(before["window_end"] as? String == "2027-01-01T00:00:00Z")
            clock.advance(by: .seconds(1))
            let after = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(after["window_start"] as? String == "2027-01-01T00:00:00Z")
            #expect(after["window_end"] as? String == "2027-02-01T00:00:00Z")
        }
        let fixed = TokenWindow.fixed(start: "2026-06-01T00:00:00Z", end: nil).bounds(at: Date())
        #expect(fixed.start == "2026-06-01T00:00:00Z" && fixed.end == nil)
    }

    @Test func tokenQuotaNulls() async throws {
        let config = configuration {
            $0.tokenRemainingNull = true
            $0.tokenWindow = .currentMonth(endKnown: false)
        }
        try await withSimulator(config) { client, platform, _ in
            let first = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(first["remaining"] is NSNull)
            #expect(first["window_end"] is NSNull)
            #expect(first["limit"] as? Int == 15_000_000)
            await platform.setTokens(limit: nil, used: nil)
            let unknown = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(unknown["limit"] is NSNull)
            #expect(unknown["used"] is NSNull)
            #expect(unknown["remaining"] is NSNull)
            #expect(unknown["window_start"] is String)
        }
        try await withSimulator { client, _, _ in
            #expect(try await client.post("/_sim/tokens", #"{"limit": 100, "used": 150}"#).status == .ok)
            let over = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(over["remaining"] as? Int == 0)
            _ = try await client.post("/_sim/tokens", #"{"limit": 100, "used": null}"#)
            let half = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(half["used"] is NSNull)
            #expect(half["remaining"] is NSNull)
            _ = try await client.post("/_sim/tokens", #"{"limit": 100, "used": 90}"#)
            #expect(try json(try await client.get("/api/v2/quota/tokens"))["remaining"] as? Int == 10)
        }
    }
}
