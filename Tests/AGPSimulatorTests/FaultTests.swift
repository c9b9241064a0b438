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

@Suite("Faults on demand (§11.8)")
struct FaultTests {
    @Test func serverErrorBurstAlternates500And502() async throws {
        try await withSimulator { client, platform, _ in
            await platform.setFaults(SimulatorFaults(serverErrors: 3))
            #expect(try await client.get("/api/v2/sessions/quota").status == .internalServerError)
            let gateway = try await client.post("/api/v2/sessions", #"{"agent": "a"}"#)
            #expect(gateway.status == .badGateway)
            #expect(try json(gateway)["message"] is String)
            #expect(try await client.get("/api/v2/sessions").status == .internalServerError)
            #expect(try await client.get("/api/v2/sessions/quota").status == .ok)
            #expect(await platform.stats().createsAccepted == 0)
            #expect(await platform.currentFaults().serverErrors == 0)
            #expect(try await client.get("/_sim/stats").status == .ok)
        }
    }

    @Test func unavailableCarriesRetryAfter() async throws {
        try await withSimulator { client, platform, _ in
            await platform.setFaults(SimulatorFaults(unavailable: 2, retryAfterSeconds: 7))
            let first = try await client.get("/api/v2/quota/tokens")
            #expect(first.status == .serviceUnavailable)
            #expect(first.headers[.retryAfter] == "7")
            #expect(try await client.post("/api/v2/sessions", #"{"agent": "a"}"#).status == .serviceUnavailable)
            #expect(try await client.get("/api/v2/quota/tokens").status == .ok)
            #expect(await platform.stats().createsAccepted == 0)
            await platform.setFaults(SimulatorFaults(unavailable: 1, retryAfterSeconds: 0))
            let bare = try await client.get("/api/v2/quota/tokens")
            #expect(bare.status == .serviceUnavailable)
            #expect(bare.headers[.retryAfter] == nil)
        }
    }

    @Test(arguments: [true, false])
    func injected429OnCreatesOnly(withRetryAfter: Bool) async throws {
        try await withSimulator { client, platform, _ in
            await platform.setFaults(SimulatorFaults(retryAfterSeconds: 3, tooManyRequests: 1, tooManyRetryAfter: withRetryAfter))
            #expect(try await client.get("/api/v2/sessions/quota").status == .ok)
            let refused = try await client.post("/api/v2/sessions", #"{"agent": "a"}"#, idempotencyKey: "k")
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == (withRetryAfter ? "3" : nil))
            try await client.create(#"{"agent": "a"}"#, idempotencyKey: "k")
            let stats = await platform.stats()
            #expect(stats.injected429 == 1)
            #expect(stats.createsRefused == 0)
            #expect(stats.refused.isEmpty)
        }
    }

    /// A slow answer takes at least the fault's delay; others do not. The delay is long (1 s) so that a loaded
    /// machine cannot make an undelayed answer look slow.
    @Test func slowAnswers() async throws {
        try await withSimulator { client, platform, _ in
            await platform.setFaults(SimulatorFaults(slowMilliseconds: 1000))
            let clock = ContinuousClock()
            let start = clock.now
            let slow = try await client.get("/api/v2/sessions/quota")
            #expect(slow.status == .ok)
            #expect(clock.now - start >= .milliseconds(1000))
            let control = clock.now
            let stats = try await client.get("/_sim/stats")
            #expect(stats.status == .ok)
            #expect(clock.now - control < .milliseconds(1000))
            await platform.setFaults(SimulatorFaults())
            let after = clock.now
            let fast = try await client.get("/api/v2/sessions/quota")
            #expect(fast.status == .ok)
            #expect(clock.now - after < .milliseconds(1000))
        }
    }

    @Test func routeFilterLimitsFaults() async throws {
        try await withSimulator { client, platform, _ in
            await platform.setFaults(SimulatorFaults(unavailable: 1, routes: ["quota"]))
            #expect(try await client.get("/api/v2/sessions").status == .ok)
            try await client.create()
            #expect(try await client.get("/api/v2/sessions/quota").status == .serviceUnavailable)
            #expect(try await client.get("/api/v2/sessions/quota").status == .ok)
        }
    }

    @Test func faultsThroughTheControlRoute() async throws {
        try await withSimulator { client, platform, _ in
            let body = #"{"server_errors": 1, "unavailable": 1, "retry_after_seconds": 4, "routes": ["list"]}"#
            #expect(try await client.post("/_sim/faults", body).status == .ok)
            let faults = await platform.currentFaults()
            #expect(faults == SimulatorFaults(serverErrors: 1, unavailable: 1, retryAfterSeconds: 4, routes: ["list"]))
            #expect(try await client.get("/api/v2/sessions").status == .internalServerError)
            let second = try await client.get("/api/v2/sessions")
            #expect(second.status == .serviceUnavailable)
            #expect(second.headers[.retryAfter] == "4")
            #expect(try await client.post("/_sim/faults", "[]").status == .badRequest)
        }
    }
}
