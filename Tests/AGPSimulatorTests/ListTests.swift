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

@Suite("List filters and pagination (§4.4, §8)")
struct ListTests {
    @Test func pagesPast100() async throws {
        let config = configuration {
            $0.limit = 1000
            $0.runDuration = nil
        }
        try await withSimulator(config) { client, _, clock in
            var created: [String] = []
            for _ in 0..<250 {
                created.append(try await client.create(#"{"agent": "a"}"#))
                clock.advance(by: .milliseconds(1))
            }
            var seen: [String] = []
            for page in 1...3 {
                let body = try json(try await client.get("/api/v2/sessions?size=100&page=\(page)"))
                #expect(body["total"] as? Int == 250)
                #expect(body["page"] as? Int == page)
                let items = try #require(body["items"] as? [JSONObject])
                #expect(items.count == (page == 3 ? 50 : 100))
                seen += items.compactMap { $0["id"] as? String }
            }
            #expect(seen == created.reversed())  // newest first by default
            let beyond = try json(try await client.get("/api/v2/sessions?size=100&page=4"))
            #expect((beyond["items"] as? [Any])?.isEmpty == true)
            #expect(beyond["total"] as? Int == 250)
            let ascending = try json(try await client.get("/api/v2/sessions?size=2&sort=created_at"))
            #expect((ascending["items"] as? [JSONObject])?.compactMap { $0["id"] as? String } == Array(created.prefix(2)))
            let defaultSize = try json(try await client.get("/api/v2/sessions"))
            #expect((defaultSize["items"] as? [Any])?.count == 10)
        }
    }

    @Test(arguments: ["size=101", "size=0", "page=0", "size=abc", "sort=name", "status=sleeping"])
    func invalidQueriesAre422(query: String) async throws {
        try await withSimulator { client, _, _ in
            let response = try await client.get("/api/v2/sessions?\(query)")
            #expect(response.status == .unprocessableContent)
            let item = try validationItem(response)
            #expect((item["loc"] as? [String])?.first == "query")
        }
    }

    @Test func statusGroupAndParentFilters() async throws {
        try await withSimulator(configuration { $0.limit = 10 }) { client, _, clock in
            let done = try await client.create(#"{"agent": "a", "group_id": "g1"}"#)
            clock.advance(by: .seconds(1))
            #expect(try await client.status(done) == "completed")
            let pending = try await client.create(#"{"agent": "a", "group_id": "g1", "parent_session_id": "p1"}"#)
            clock.advance(by: .milliseconds(100))
            let running = try await client.create(#"{"agent": "b", "group_id": "g2"}"#)
            _ = pending
            clock.advance(by: .milliseconds(50))
            func total(_ query: String) async throws -> Int? {
                try json(try await client.get("/api/v2/sessions?\(query)"))["total"] as? Int
            }
            #expect(try await total("status=running") == 1)
            #expect(try await total("status=pending") == 1)
            #expect(try await total("status=pending&status=running") == 2)
            #expect(try await total("status=pending&status=running&status=paused&status=idle&status=awaiting_tool_results") == 2)
            #expect(try await total("status=completed") == 1)
            #expect(try await total("group_id=g1") == 2)
            #expect(try await total("group_id=g1&status=completed") == 1)
            #expect(try await total("parent_session_id=p1") == 1)
            #expect(try await total("agent=b") == 1)
            #expect(try await total("agent=a&agent=b") == 3)
            _ = running
        }
    }
}
