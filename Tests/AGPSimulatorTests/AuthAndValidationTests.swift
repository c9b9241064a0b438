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

@Suite("Auth (§1) and create validation (§4.1)")
struct AuthAndValidationTests {
    @Test(arguments: [nil, "hk-wrong"])
    func unknownKeyGets401WithGatewayBody(key: String?) async throws {
        try await withSimulator { client, _, _ in
            for path in ["/api/v2/sessions", "/api/v2/sessions/quota", "/api/v2/quota/tokens"] {
                let response = try await client.get(path, key: key)
                #expect(response.status == .unauthorized)
                let body = try json(response)
                #expect(Set(body.keys) == ["message"])
                #expect(body["message"] as? String == "Unauthorized")
            }
            let create = try await client.request(.post, "/api/v2/sessions", body: #"{"agent": "a"}"#, key: key)
            #expect(create.status == .unauthorized)
        }
    }

    @Test func emptyKeySetTurnsAuthOff() async throws {
        try await withSimulator(configuration { $0.apiKeys = [] }) { client, _, _ in
            let response = try await client.get("/api/v2/sessions/quota", key: nil)
            #expect(response.status == .ok)
        }
    }

    @Test func controlRoutesNeedNoKey() async throws {
        try await withSimulator { client, _, _ in
            let response = try await client.get("/_sim/stats", key: nil)
            #expect(response.status == .ok)
        }
    }

    @Test func missingAgentIs422InListShape() async throws {
        try await withSimulator { client, platform, _ in
            let response = try await client.post("/api/v2/sessions", #"{"messages": "hi"}"#)
            #expect(response.status == .unprocessableContent)
            let item = try validationItem(response)
            #expect(item["type"] as? String == "missing")
            #expect(item["loc"] as? [String] == ["body", "agent"])
            #expect(item["msg"] as? String == "Field required")
            #expect(await platform.stats().createsAccepted == 0)
        }
    }

    @Test(arguments: ["[1, 2]", "not json", #"{"agent": 5}"#, #"{"agent": "a", "queue": "yes"}"#, #"{"agent": "a", "idle_timeout_s": 0}"#])
    func invalidBodiesAre422(body: String) async throws {
        try await withSimulator { client, _, _ in
            let response = try await client.post("/api/v2/sessions", body)
            #expect(response.status == .unprocessableContent)
            #expect(try json(response)["detail"] is [JSONObject])
        }
    }

    @Test func unknownFieldsAcceptedUnlessStrict() async throws {
        let body = #"{"agent": "a", "answer_format": {"type": "string"}}"#
        try await withSimulator { client, _, _ in
            let response = try await client.post("/api/v2/sessions", body)
            #expect(response.status == .created)
        }
        try await withSimulator(configuration { $0.strictBodies = true }) { client, _, _ in
            let response = try await client.post("/api/v2/sessions", body)
            #expect(response.status == .unprocessableContent)
            let item = try validationItem(response)
            #expect(item["type"] as? String == "extra_forbidden")
            #expect(item["loc"] as? [String] == ["body", "answer_format"])
            #expect(try await client.post("/api/v2/sessions", #"{"agent": "a", "queue": false, "max_steps": 3}"#).status == .created)
        }
    }
}
