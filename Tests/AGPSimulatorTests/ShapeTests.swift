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

@Suite("Routes and JSON shapes (§2, §4)")
struct ShapeTests {
    static let sessionKeys: Set<String> = [
        "id", "request", "status", "agent_view_url", "latest_answer", "created_at", "started_at", "finished_at",
    ]
    static let statusKeys: Set<String> = [
        "status", "error", "error_code", "outcome", "steps", "usage_per_model", "subagent_session_ids",
    ]
    static let summaryKeys: Set<String> = [
        "id", "agent", "status", "agent_view_url", "first_message", "created_at", "started_at", "finished_at",
        "anonymized_at",
    ]

    @Test func createAnswersAPendingSessionWithEveryKey() async throws {
        try await withSimulator { client, _, _ in
            let body = #"{"agent": "h/web-surfer-flash", "messages": "find a flight", "group_id": "g1"}"#
            let response = try await client.post("/api/v2/sessions", body)
            #expect(response.status == .created)
            #expect(response.headers[.contentType] == "application/json")
            let session = try json(response)
            #expect(Set(session.keys) == Self.sessionKeys)
            #expect(session["started_at"] is NSNull)
            #expect(session["finished_at"] is NSNull)
            #expect(session["latest_answer"] is NSNull)
            #expect((session["created_at"] as? String)?.hasSuffix("Z") == true)
            let request = try #require(session["request"] as? JSONObject)
            #expect(request["agent"] as? String == "h/web-surfer-flash")
            #expect(request["group_id"] as? String == "g1")
            let status = try #require(session["status"] as? JSONObject)
            #expect(Set(status.keys) == Self.statusKeys)
            #expect(status["status"] as? String == "pending")
            #expect(status["error"] is NSNull)
            #expect(status["steps"] as? Int == 0)
            #expect((status["usage_per_model"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func getStatusListQuotaAndTokensHaveEveryKey() async throws {
        try await withSimulator { client, _, _ in
            let id = try await client.create()
            let session = try json(try await client.get("/api/v2/sessions/\(id)"))
            #expect(Set(session.keys) == Self.sessionKeys)
            #expect(session["id"] as? String == id)
            let status = try json(try await client.get("/api/v2/sessions/\(id)/status"))
            #expect(Set(status.keys) == Self.statusKeys)
            let page = try json(try await client.get("/api/v2/sessions"))
            #expect(Set(page.keys) == ["items", "total", "page"])
            let items = try #require(page["items"] as? [JSONObject])
            #expect(items.count == 1)
            #expect(Set(items[0].keys) == Self.summaryKeys)
            #expect(items[0]["agent"] as? String == "h/web-surfer-flash")
            let message = try #require(items[0]["first_message"] as? JSONObject)
            #expect(message["type"] as? String == "user_message")
            #expect(message["message"] as? String == "task")
            #expect(items[0]["anonymized_at"] is NSNull)
            let quota = try await client.quota()
            #expect(Set(quota.keys) == ["scope", "limit", "active", "available"])
            #expect(quota["scope"] as? String == "org")
            #expect(quota["limit"] as? Int == 3)
            #expect(quota["active"] as? Int == 1)
            #expect(quota["available"] as? Int == 2)
            let tokens = try json(try await client.get("/api/v2/quota/tokens"))
            #expect(Set(tokens.keys) == ["limit", "used", "remaining", "window_start", "window_end"])
        }
    }

    @Test func inlineAgentNameAndMessageListInSummary() async throws {
        try await withSimulator { client, _, _ in
            let body = #"""
                {"agent": {"name": "my-agent", "environments": []},
                 "messages": [{"type": "user_message", "message": "first"}, {"type": "user_message", "message": "second"}]}
                """#
            try await client.create(body)
            let items = try #require(try json(try await client.get("/api/v2/sessions"))["items"] as? [JSONObject])
            #expect(items.first?["agent"] as? String == "my-agent")
            let message = try #require(items.first?["first_message"] as? JSONObject)
            #expect(message["message"] as? String == "first")
            #expect(message["caller_id"] as? String == "user")
        }
    }

    @Test func unknownAndMalformedIDs() async throws {
        try await withSimulator { client, _, _ in
            let unknown = "00000000-0000-4000-8000-000000000000"
            for path in ["/api/v2/sessions/\(unknown)", "/api/v2/sessions/\(unknown)/status"] {
                let response = try await client.get(path)
                #expect(response.status == .notFound)
                #expect(try detail(response) == "Session not found")
            }
            let cancel = try await client.delete("/api/v2/sessions/\(unknown)")
            #expect(cancel.status == .notFound)
            #expect(try detail(cancel) == "Session not found")
            let malformed = try await client.get("/api/v2/sessions/not-a-uuid")
            #expect(malformed.status == .unprocessableContent)
            #expect(try validationItem(malformed)["loc"] as? [String] == ["path", "session_id"])
        }
    }

    @Test func changesAndEvents() async throws {
        try await withSimulator { client, platform, clock in
            let id = try await client.create()
            let first = try await client.get("/api/v2/sessions/\(id)/changes?from_index=0")
            #expect(first.status == .ok)
            let changes = try json(first)
            #expect(changes["status"] as? String == "pending")
            #expect((changes["new_events"] as? [JSONObject])?.first?["type"] as? String == "user_message")
            #expect(changes["answer"] is NSNull)
            #expect(changes["metrics"] is JSONObject)
            let none = try await client.get("/api/v2/sessions/\(id)/changes?from_index=1")
            #expect(none.status == .noContent)
            #expect(none.headers[.eTag] == "1")
            clock.advance(by: .seconds(1))
            #expect(await platform.status(of: id) == "completed")
            let later = try json(try await client.get("/api/v2/sessions/\(id)/changes?from_index=1"))
            #expect(later["answer"] as? String == "Simulated answer")
            #expect(later["outcome"] as? String == "success")
            let events = try json(try await client.get("/api/v2/sessions/\(id)/events?size=2"))
            #expect(events["total"] as? Int == 3)
            #expect((events["items"] as? [Any])?.count == 2)
            let bad = try await client.get("/api/v2/sessions/\(id)/events?size=201")
            #expect(bad.status == .unprocessableContent)
        }
    }

    @Test func pauseResumeMessagesAndForceAnswerAnswer202() async throws {
        try await withSimulator { client, _, clock in
            let id = try await client.create()
            clock.advance(by: .milliseconds(150))
            #expect(try await client.status(id) == "running")
            #expect(try await client.post("/api/v2/sessions/\(id)/pause").status == .accepted)
            #expect(try await client.status(id) == "paused")
            clock.advance(by: .seconds(10))
            #expect(try await client.status(id) == "paused")
            #expect(try await client.quota()["active"] as? Int == 1)
            #expect(try await client.post("/api/v2/sessions/\(id)/resume").status == .accepted)
            #expect(try await client.status(id) == "running")
            clock.advance(by: .milliseconds(600))
            #expect(try await client.status(id) == "completed")

            let other = try await client.create()
            clock.advance(by: .milliseconds(150))
            #expect(try await client.post("/api/v2/sessions/\(other)/force_answer").status == .accepted)
            #expect(try await client.status(other) == "completed")
            let message = #"{"type": "user_message", "message": "again"}"#
            #expect(try await client.post("/api/v2/sessions/\(other)/messages", message).status == .accepted)
            #expect(try await client.status(other) == "pending")
            let badMessage = try await client.post("/api/v2/sessions/\(other)/messages", #"{"type": "batch", "messages": []}"#)
            #expect(badMessage.status == .unprocessableContent)
        }
    }
}
