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
            #expect(tokens["window_start"] as? String == "2026-11-01T00:00:00Z")
            #expect(tokens["window_end"] as? String == "2026-12-01T00:00:00Z")
        }
    }

    @Test func tokenQuotaNulls() async throws {
        let config = configuration {
            $0.tokenRemainingNull = true
            $0.tokenWindowEnd = nil
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
