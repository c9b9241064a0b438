//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import Testing

extension EndToEnd {
    /// The proxy forwards only the platform routes `proxy.allow` names; paths that could reach outside `/api/v2/`
    /// never leave the daemon.
    @Suite("Proxy reach")
    struct ProxyReach {
        @Test("by default the session and quota routes pass, other routes answer 403 route_not_allowed and tricky paths 400")
        func defaultAllowList() async throws {
            try await withStack { simulator, daemon, _ in
                #expect(try await daemon.get("/api/v2/sessions/quota").status == 200)
                // The session list is forwarded (it once answered slotgate's own 404: the SDK's list_sessions).
                let list = try await daemon.get("/api/v2/sessions")
                #expect(list.status == 200, "GET /api/v2/sessions: \(list)")
                let before = try await simulator.stats()
                for path in ["/api/v2/vaults", "/api/v2/webhooks/w1", "/api/v2/agents"] {
                    let reply = try await daemon.get(path)
                    expectError(reply, 403, "route_not_allowed")
                    #expect(reply.text.contains("proxy.allow"), "the answer names the key: \(reply.text)")
                }
                let deleted = try await daemon.request(.DELETE, "/api/v2/schedules/s1")
                expectError(deleted, 403, "route_not_allowed")
                // Sent raw, so that no client library normalizes them first.
                let path = daemon.socketPath
                for tricky in [
                    "/api/v2/sessions/../vaults", "/api/v2/sessions/%2e%2e/vaults", "/api/v2/sessions%2F..%2Fvaults", "/api/v2/sessions/..;/vaults",
                    "/api/v2//vaults", "/api/v2/sessions/%252e%252e/vaults",
                ] {
                    let bytes = Array("GET \(tricky) HTTP/1.1\r\nHost: slotgate\r\nConnection: close\r\n\r\n".utf8)
                    let answer = try await RawSocket.onThread { try RawSocket.exchange(path: path, bytes: bytes, readTimeout: .seconds(5)) }
                    let reply = try #require(RawSocket.firstReply(answer), "\(tricky): no answer")
                    daemon.record(reply, request: bytes)
                    #expect(reply.status == 400 || reply.status == 403 || reply.status == 404, "\(tricky): \(reply.status) \(reply.text)")
                }
                let after = try await simulator.stats()
                #expect(after.requests == before.requests, "no refused or tricky request reached the platform")
            }
        }

        @Test("proxy.allow as a YAML list opens a route and closes the rest, creates included")
        func configuredAllowList() async throws {
            let config = "proxy:\n  allow:\n    - GET /api/v2/sessions/quota\n    - GET /api/v2/agents\n"
            try await withStack(config: config) { _, daemon, _ in
                #expect(try await daemon.get("/api/v2/sessions/quota").status == 200)
                #expect(try await daemon.get("/api/v2/agents").status != 403)
                expectError(try await daemon.get("/api/v2/sessions"), 403, "route_not_allowed")
                let create = try await daemon.request(.POST, "/api/v2/sessions", json: ["agent": "h/x", "queue": false])
                expectError(create, 403, "route_not_allowed")
                #expect(DaemonProcess.slots(try await daemon.status(), "held_by_leases") == 0, "a refused create takes no slot")
            }
        }

        /// The accounting side (no grant until a reading sent after the 429) is `a429OnAForwardedRouteFillsTheCount…`.
        @Test("a 429 on a forwarded route reaches its client unchanged, and the daemon takes it as the platform full")
        func forwarded429() async throws {
            var options = SimulatorOptions()
            options.limit = 1
            options.runMilliseconds = "100"
            try await withStack(simulator: options) { simulator, daemon, _ in
                // An ended session, then an outside one that takes the only slot: a message to the first would
                // restart it past the limit, which the platform refuses with 429.
                let first = try #require(try await simulator.createSession().json?["id"] as? String)
                try await simulator.waitUntilTerminal(first)
                _ = try await simulator.createExternal(count: 1, runMilliseconds: 600_000)
                let reply = try await daemon.request(.POST, "/api/v2/sessions/\(first)/messages", json: ["type": "user_message", "message": "again"])
                #expect(reply.status == 429, "the client asked for no slot: the platform's answer is its own (\(reply))")
                #expect(daemon.child.stderr.text.contains("the platform answered 429 to a forwarded request"))
            }
        }
    }
}
