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

@Suite("Idempotency (§6)")
struct IdempotencyTests {
    let body = #"{"agent": "h/web-surfer-flash", "messages": "task"}"#

    @Test func sameKeySameBodyReplaysWithoutANewSlot() async throws {
        try await withSimulator { client, platform, _ in
            let first = try await client.create(self.body, idempotencyKey: "key-1")
            let second = try await client.create(self.body, idempotencyKey: "  key-1 ")
            #expect(first == second)
            let stats = await platform.stats()
            #expect(stats.createsAccepted == 1)
            #expect(stats.nonTerminal == 1)
            #expect(try await client.quota()["active"] as? Int == 1)
        }
    }

    @Test func sameKeyDifferentBodyIs422() async throws {
        try await withSimulator { client, platform, _ in
            try await client.create(self.body, idempotencyKey: "key-1")
            let other = try await client.post("/api/v2/sessions", #"{"agent": "h/other"}"#, idempotencyKey: "key-1")
            #expect(other.status == .unprocessableContent)
            #expect(try detail(other) != nil)
            #expect(await platform.stats().createsAccepted == 1)
        }
    }

    @Test func blankAndOverlongKeysAre422() async throws {
        try await withSimulator { client, platform, _ in
            let blank = try await client.post("/api/v2/sessions", self.body, idempotencyKey: "   ")
            #expect(blank.status == .unprocessableContent)
            #expect(try detail(blank) == "Idempotency-Key must not be blank")
            let long = try await client.post("/api/v2/sessions", self.body, idempotencyKey: String(repeating: "k", count: 256))
            #expect(long.status == .unprocessableContent)
            try await client.create(self.body, idempotencyKey: String(repeating: "k", count: 255))
            #expect(await platform.stats().createsAccepted == 1)
        }
    }

    @Test func keyOfARefusedCreateIsReleased() async throws {
        try await withSimulator(configuration { $0.limit = 1 }) { client, _, _ in
            let holder = try await client.create()
            let refused = try await client.post("/api/v2/sessions", self.body, idempotencyKey: "retry-me")
            #expect(refused.status == .tooManyRequests)
            #expect(try await client.delete("/api/v2/sessions/\(holder)").status == .noContent)
            try await client.create(self.body, idempotencyKey: "retry-me")
        }
    }

    @Test func keysExpireAfter24Hours() async throws {
        try await withSimulator(configuration { $0.limit = 10 }) { client, _, clock in
            let first = try await client.create(self.body, idempotencyKey: "old")
            clock.advance(by: .seconds(23 * 3600))
            #expect(try await client.create(self.body, idempotencyKey: "old") == first)
            clock.advance(by: .seconds(3600))
            let fresh = try await client.create(#"{"agent": "h/other"}"#, idempotencyKey: "old")
            #expect(fresh != first)
        }
    }

    @Test func keyInFlightIs409WithRetryAfter() async throws {
        try await withSimulator { client, platform, _ in
            await platform.setFaults(SimulatorFaults(slowMilliseconds: 600, routes: ["create"]))
            async let first = client.post("/api/v2/sessions", self.body, idempotencyKey: "slow")
            // The fault under test is a delay: wait until the first create is admitted and held in its delay.
            while await platform.stats().requests["create"] == nil {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await Task.sleep(for: .milliseconds(50))
            let second = try await client.post("/api/v2/sessions", self.body, idempotencyKey: "slow")
            #expect(second.status == .conflict)
            #expect(second.headers[.retryAfter] == "2")
            #expect(try detail(second) == "Idempotency-Key request in flight; retry shortly")
            #expect(try await first.status == .created)
            #expect(await platform.stats().createsAccepted == 1)
        }
    }
}
