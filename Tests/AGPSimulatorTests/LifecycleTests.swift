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

@Suite("Lifecycle on a manual clock (§3, §10, §11.4)")
struct LifecycleTests {
    @Test func pendingRunningCompleted() async throws {
        try await withSimulator { client, platform, clock in
            let id = try await client.create()
            #expect(try await client.status(id) == "pending")
            clock.advance(by: .milliseconds(99))
            #expect(try await client.status(id) == "pending")
            clock.advance(by: .milliseconds(1))
            #expect(try await client.status(id) == "running")
            let running = try json(try await client.get("/api/v2/sessions/\(id)"))
            #expect(running["started_at"] is String)
            #expect(running["finished_at"] is NSNull)
            clock.advance(by: .milliseconds(600))
            let done = try json(try await client.get("/api/v2/sessions/\(id)"))
            let status = try #require(done["status"] as? JSONObject)
            #expect(status["status"] as? String == "completed")
            #expect(status["outcome"] as? String == "success")
            #expect(done["finished_at"] is String)
            #expect(done["latest_answer"] as? String == "Simulated answer")
            #expect(await platform.stats().nonTerminal == 0)
        }
    }

    @Test func runLengthsAreDrawnInTheConfiguredRange() async throws {
        try await withSimulator(configuration { $0.limit = 50 }) { client, _, clock in
            var ids: [String] = []
            for _ in 0..<20 { ids.append(try await client.create()) }
            clock.advance(by: .milliseconds(399))  // pending 100 + shortest run 300
            for id in ids { #expect(try await client.status(id) == "running") }
            clock.advance(by: .milliseconds(302))
            for id in ids { #expect(try await client.status(id) == "completed") }
        }
    }

    @Test func endStatusesAreDrawnFromTheConfiguration() async throws {
        let config = configuration {
            $0.limit = 50
            $0.endStatuses = ["failed", "timed_out"]
        }
        try await withSimulator(config) { client, _, clock in
            var ids: [String] = []
            for _ in 0..<20 { ids.append(try await client.create()) }
            clock.advance(by: .seconds(1))
            var seen: Set<String> = []
            for id in ids {
                let status = try json(try await client.get("/api/v2/sessions/\(id)/status"))
                let name = try #require(status["status"] as? String)
                seen.insert(name)
                #expect(status["error"] is String)
                #expect(status["error_code"] as? String == (name == "failed" ? "internal" : "timeout"))
            }
            #expect(seen == ["failed", "timed_out"])
        }
    }

    @Test func sameSeedSameIDs() async throws {
        let first = try await withSimulator { client, _, _ in try await client.create() }
        let second = try await withSimulator { client, _, _ in try await client.create() }
        let other = try await withSimulator(configuration { $0.seed = 2 }) { client, _, _ in try await client.create() }
        #expect(first == second)
        #expect(first != other)
        #expect(UUID(uuidString: first) != nil)
    }

    @Test func interactiveSessionsGoIdleThenEnd() async throws {
        try await withSimulator { client, platform, clock in
            let id = try await client.create(#"{"agent": "a", "idle_timeout_s": 30}"#)
            clock.advance(by: .milliseconds(700))
            #expect(try await client.status(id) == "idle")
            #expect(try await client.quota()["active"] as? Int == 1)
            let message = #"{"type": "batch", "messages": [{"type": "user_message", "message": "next"}]}"#
            #expect(try await client.post("/api/v2/sessions/\(id)/messages", message).status == .accepted)
            #expect(try await client.status(id) == "running")
            clock.advance(by: .milliseconds(600))
            #expect(try await client.status(id) == "idle")
            clock.advance(by: .seconds(30))
            #expect(try await client.status(id) == "completed")
            #expect(await platform.stats().nonTerminal == 0)
        }
    }

    @Test func openEndedRunsStopOnlyWhenTold() async throws {
        try await withSimulator(configuration { $0.runDuration = nil }) { client, platform, clock in
            let id = try await client.create()
            clock.advance(by: .seconds(3600))
            #expect(try await client.status(id) == "running")
            #expect(await platform.finishSession(id, status: "idle"))
            #expect(try await client.status(id) == "idle")
            #expect(await platform.finishSession(id, status: "failed"))
            #expect(try await client.status(id) == "failed")
            #expect(await platform.finishSession("00000000-0000-4000-8000-000000000000", status: "failed") == false)
        }
    }

    @Test func cancelSemantics() async throws {
        try await withSimulator { client, platform, clock in
            let id = try await client.create()
            #expect(try await client.quota()["active"] as? Int == 1)
            #expect(try await client.delete("/api/v2/sessions/\(id)").status == .noContent)
            #expect(try await client.status(id) == "interrupted")
            #expect(try await client.quota()["active"] as? Int == 0)
            let finished = try json(try await client.get("/api/v2/sessions/\(id)"))
            #expect(finished["finished_at"] is String)

            let done = try await client.create()
            clock.advance(by: .seconds(1))
            #expect(try await client.status(done) == "completed")
            #expect(try await client.delete("/api/v2/sessions/\(done)").status == .noContent)
            #expect(try await client.status(done) == "completed")
            #expect(await platform.stats().nonTerminal == 0)
        }
    }
}
