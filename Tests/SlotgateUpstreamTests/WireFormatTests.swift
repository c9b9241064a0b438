//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import SlotgateCore
import Testing

@testable import SlotgateUpstream

@Suite("Wire format")
struct WireFormatTests {
    static func buffer(_ text: String) -> ByteBuffer {
        ByteBuffer(string: text)
    }

    @Test func detailString() {
        #expect(WireFormat.errorMessage(Self.buffer(#"{"detail": "Session not found"}"#)) == "Session not found")
    }

    @Test func detailValidationList() {
        let body = #"""
            {"detail": [
                {"type": "missing", "loc": ["body", "agent"], "msg": "Field required", "input": {}},
                {"type": "int_parsing", "loc": ["query", "size", 0], "msg": "Input should be a valid integer", "ctx": {"x": 1}}
            ]}
            """#
        #expect(
            WireFormat.errorMessage(Self.buffer(body))
                == "body.agent: Field required; query.size.0: Input should be a valid integer"
        )
    }

    @Test func gatewayMessage() {
        #expect(WireFormat.errorMessage(Self.buffer(#"{"message": "Unauthorized"}"#)) == "Unauthorized")
        #expect(WireFormat.errorMessage(Self.buffer(#"{"detail": null, "message": "Forbidden"}"#)) == "Forbidden")
    }

    @Test func unreadableErrorBodies() {
        #expect(WireFormat.errorMessage(Self.buffer("")) == nil)
        #expect(WireFormat.errorMessage(Self.buffer("<html>Bad Gateway</html>")) == nil)
        #expect(WireFormat.errorMessage(Self.buffer(#"{"error": "x"}"#)) == nil)
    }

    @Test func statusesIncludingUnknownOnes() throws {
        let body = Self.buffer(#"{"status": "warming_up", "error": null, "steps": 0, "extra": [1, 2]}"#)
        let decoded = try WireFormat.decode(WireFormat.StatusBody.self, from: body).get()
        #expect(decoded.status.value == .unknown("warming_up"))
        #expect(!decoded.status.value.isTerminal)
        let known = try WireFormat.decode(WireFormat.StatusBody.self, from: Self.buffer(#"{"status": "timed_out"}"#)).get()
        #expect(known.status.value == .timedOut)
    }

    @Test func createdSessionWithNestedStatus() throws {
        let body = Self.buffer(
            #"""
            {"id": "5d0b", "request": {"agent": "h/x"}, "status": {"status": "queued", "error": null, "steps": 0,
             "usage_per_model": [], "subagent_session_ids": []}, "agent_view_url": null, "latest_answer": null,
             "created_at": "2026-05-07T14:30:00Z", "started_at": null, "finished_at": null}
            """#
        )
        let created = try WireFormat.decode(WireFormat.CreatedSession.self, from: body).get()
        #expect(created.id == "5d0b")
        #expect(created.status?.value == .queued)
    }

    @Test func pageToleratesNullsAndExtraKeys() throws {
        let body = Self.buffer(
            #"""
            {"items": [{"id": "a", "agent": null, "status": "idle", "agent_view_url": null, "first_message": null,
                        "created_at": "2026-05-07T14:30:00Z", "started_at": null, "finished_at": null, "anonymized_at": null,
                        "new_key": true}],
             "total": 1, "page": 1, "size": 100}
            """#
        )
        let page = try WireFormat.decode(WireFormat.Page.self, from: body).get()
        #expect(page.items.map(\.id) == ["a"])
        #expect(page.items.first?.status.value == .idle)
    }

    @Test func missingRequiredKeysAreDecodingFailures() {
        let result = WireFormat.decode(WireFormat.Quota.self, from: Self.buffer(#"{"scope": "org", "limit": 3}"#))
        guard case .failure(let failure) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.reason.contains("active"))
    }

    @Test func tokenReadingNulls() throws {
        let body = Self.buffer(
            #"{"limit": null, "used": 5, "remaining": null, "window_start": "2026-06-01T00:00:00Z", "window_end": null}"#
        )
        let wire = try WireFormat.decode(WireFormat.TokenQuota.self, from: body).get()
        #expect(wire.limit == nil)
        #expect(wire.windowEnd == nil)
        let unlimited = TokenReading(limit: nil, used: 5, remaining: nil, windowStart: nil, windowEnd: nil, sentAt: .distantPast)
        #expect(unlimited.remaining == nil)
        let computed = TokenReading(limit: 100, used: 40, remaining: nil, windowStart: nil, windowEnd: nil, sentAt: .distantPast)
        #expect(computed.remaining == 60)
        let overdrawn = TokenReading(limit: 100, used: 140, remaining: nil, windowStart: nil, windowEnd: nil, sentAt: .distantPast)
        #expect(overdrawn.remaining == 0)
        let unknownUse = TokenReading(limit: 100, used: nil, remaining: nil, windowStart: nil, windowEnd: nil, sentAt: .distantPast)
        #expect(unknownUse.remaining == nil)
    }

    @Test func queryAndPathEncoding() {
        #expect(AGPClient.queryString([]) == "")
        #expect(AGPClient.queryString([("status", "timed_out"), ("owner", "me-in-organization")]) == "?status=timed_out&owner=me-in-organization")
        #expect(AGPClient.pathSegment("../quota") == "..%2Fquota")
        #expect(AGPClient.pathSegment("..") == "%2E%2E")
        #expect(AGPClient.pathSegment("a b?c") == "a%20b%3Fc")
    }
}
