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
    /// Every row of socket-api.md "Errors": the status, the body `{"error": {"code", "message"}}` and
    /// `Retry-After` on 503 (503 `shutting_down` is in ``Resilience/sigtermWakesWaiters()``).
    @Suite("Every error row of socket-api.md")
    struct ErrorContract {
        /// A well-formed lease id that no daemon has issued.
        static let unknownLease = "lse_01J9Z3ABCDEFGHJKMNPQRSTVWX"
        static let createBody: [String: any Sendable] = ["agent": "h/x", "messages": "m", "queue": false]

        @Test("400 bad_request: malformed JSON, wrong types, out-of-range values (the message names the field)")
        func badRequest() async throws {
            try await withStack { _, daemon, _ in
                expectError(try await daemon.request(.POST, "/v1/leases", body: Array("{\"wait_s\":".utf8)), 400, "bad_request")
                expectError(try await daemon.request(.POST, "/v1/leases", body: Array("[1, 2]".utf8)), 400, "bad_request")
                let fields: [(String, any Sendable)] = [
                    ("wait_s", "soon"), ("wait_s", -1), ("wait_s", 86_401), ("priority", 11), ("priority", 1.5),
                    ("claim_ttl_s", 0), ("claim_ttl_s", 3601), ("holder", 5), ("holder", String(repeating: "h", count: 129)),
                ]
                for (field, value) in fields {
                    let reply = try await daemon.request(.POST, "/v1/leases", json: [field: value])
                    expectError(reply, 400, "bad_request")
                    let message = (reply.json?["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains(field), "the message names \(field): \(message)")
                }
                let lease = try #require(try await daemon.grantedLease(wait: 5)["id"] as? String)
                expectError(try await daemon.request(.POST, "/v1/leases/\(lease)/session", json: ["session_id": 5]), 400, "bad_request")
                expectError(try await daemon.request(.DELETE, "/v1/leases/\(lease)?cancel_session=maybe"), 400, "bad_request")
            }
        }

        @Test("400 bad_request from the proxy: Slotgate-Wait or Slotgate-Priority not a number in range")
        func proxyHeaders() async throws {
            try await withStack { simulator, daemon, _ in
                let bad: [(String, String)] = [
                    ("Slotgate-Wait", "soon"), ("Slotgate-Wait", "-1"), ("Slotgate-Wait", "86401"), ("Slotgate-Wait", "nan"),
                    ("Slotgate-Priority", "11"), ("Slotgate-Priority", "-11"), ("Slotgate-Priority", "1.5"), ("Slotgate-Priority", "high"),
                ]
                for header in bad {
                    let reply = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [header])
                    expectError(reply, 400, "bad_request")
                    let message = (reply.json?["error"] as? [String: Any])?["message"] as? String ?? ""
                    #expect(message.contains(header.0), "the message names \(header.0): \(message)")
                }
                #expect(try await simulator.stats().createsAccepted == 0, "no refused proxy request reached the platform")
            }
        }

        @Test("404 lease_not_found and 404 not_found")
        func notFound() async throws {
            try await withStack { _, daemon, _ in
                let id = Self.unknownLease
                expectError(try await daemon.get("/v1/leases/\(id)"), 404, "lease_not_found")
                expectError(try await daemon.request(.DELETE, "/v1/leases/\(id)"), 404, "lease_not_found")
                expectError(try await daemon.request(.POST, "/v1/leases/\(id)/renew"), 404, "lease_not_found")
                expectError(try await daemon.request(.POST, "/v1/leases/\(id)/session", json: ["session_id": "s"]), 404, "lease_not_found")
                expectError(try await daemon.get("/v1/leases/not-a-lease-id"), 404, "lease_not_found")
                let proxied = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [("Slotgate-Lease", id)])
                expectError(proxied, 404, "lease_not_found")
                for path in ["/", "/v1", "/v2/status", "/v1/statuses", "/v1/leases/\(id)/other"] {
                    expectError(try await daemon.get(path), 404, "not_found")
                }
            }
        }

        @Test("405 method_not_allowed on known paths")
        func methodNotAllowed() async throws {
            try await withStack { _, daemon, _ in
                let cases: [(HTTPMethod, String)] = [
                    (.POST, "/v1/status"), (.PUT, "/v1/status"), (.DELETE, "/v1/leases"), (.PATCH, "/v1/leases"),
                    (.PUT, "/v1/leases/\(Self.unknownLease)"), (.GET, "/v1/leases/\(Self.unknownLease)/renew"),
                    (.GET, "/v1/leases/\(Self.unknownLease)/session"), (.POST, "/metrics"), (.DELETE, "/healthz"),
                ]
                for (method, path) in cases {
                    let reply = try await daemon.request(method, path)
                    expectError(reply, 405, "method_not_allowed")
                }
            }
        }

        @Test("409 lease_conflict: bind to another session, renew or bind an ended lease, proxy with a bound lease")
        func leaseConflict() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 3, runMilliseconds: "none")) { simulator, daemon, _ in
                let lease = try #require(try await daemon.grantedLease(wait: 5)["id"] as? String)
                let first = try #require(try await simulator.createSession().string("id"))
                let second = try #require(try await simulator.createSession().string("id"))
                #expect(try await daemon.bind(lease, to: first).status == 200)
                #expect(try await daemon.bind(lease, to: first).status == 200, "binding the same id again is a no-op 200")
                expectError(try await daemon.bind(lease, to: second), 409, "lease_conflict")
                let proxied = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [("Slotgate-Lease", lease)])
                expectError(proxied, 409, "lease_conflict")

                let other = try #require(try await daemon.grantedLease(wait: 5)["id"] as? String)
                #expect(try await daemon.release(other).status == 200)
                expectError(try await daemon.request(.POST, "/v1/leases/\(other)/renew"), 409, "lease_conflict")
                expectError(try await daemon.bind(other, to: second), 409, "lease_conflict")
            }
        }

        @Test("413 body_too_large on a declared Content-Length over 64 KiB, answered before the body, then the connection closes")
        func bodyTooLargeDeclared() async throws {
            try await withStack { _, daemon, _ in
                let head = "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nContent-Type: application/json\r\nContent-Length: 70000\r\n\r\n"
                let path = daemon.socketPath
                // Only the head is sent: the answer must come on the declared length alone.
                let (bytes, closed) = try await RawSocket.onThread {
                    try RawSocket.exchangeNotingClose(path: path, bytes: Array(head.utf8), readTimeout: .seconds(3))
                }
                let reply = try #require(RawSocket.firstReply(bytes), "no answer to a declared 70000-byte body")
                daemon.record(reply, request: Array(head.utf8))
                expectError(reply, 413, "body_too_large")
                #expect(reply.header("Connection")?.lowercased() == "close")
                #expect(closed, "the connection was still open 3 s after the 413 (socket-api.md: then the connection closes)")

                let whole = [UInt8](repeating: 0x20, count: 70_000)
                expectError(try await daemon.request(.POST, "/v1/leases", body: whole), 413, "body_too_large")
                #expect(try await daemon.get("/v1/status").status == 200)
            }
        }

        @Test("413 body_too_large on a chunked body over 64 KiB")
        func bodyTooLargeChunked() async throws {
            try await withStack { _, daemon, _ in
                var request = Array("POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
                for _ in 0..<20 {
                    request += Array("1000\r\n".utf8) + [UInt8](repeating: 0x20, count: 4096) + Array("\r\n".utf8)
                }
                request += Array("0\r\n\r\n".utf8)
                let path = daemon.socketPath
                let sent = request
                let (bytes, closed) = try await RawSocket.onThread {
                    try RawSocket.exchangeNotingClose(path: path, bytes: sent, readTimeout: .seconds(3))
                }
                let reply = try #require(RawSocket.firstReply(bytes), "no answer to an 80 KiB chunked body")
                daemon.record(reply, request: sent)
                expectError(reply, 413, "body_too_large")
                #expect(closed, "the connection was still open 3 s after the answer (socket-api.md: then the connection closes)")
                #expect(try await daemon.get("/v1/status").status == 200)
            }
        }

        @Test("400 bad_request for a request the HTTP parser rejects (a NUL in the request line), then the connection closes")
        func unparseableRequest() async throws {
            try await withStack { _, daemon, _ in
                let path = daemon.socketPath
                let request = Array("GET /v1/status\u{0} HTTP/1.1\r\nHost: slotgate\r\n\r\n".utf8)
                let (bytes, closed) = try await RawSocket.onThread {
                    try RawSocket.exchangeNotingClose(path: path, bytes: request, readTimeout: .seconds(3))
                }
                let reply = try #require(RawSocket.firstReply(bytes), "no answer to a request line with a NUL")
                daemon.record(reply)
                expectError(reply, 400, "bad_request")
                #expect(reply.header("Connection")?.lowercased() == "close")
                #expect(closed, "the connection was still open 3 s after the 400")
            }
        }

        @Test("a good request then garbage on one connection: the good one's answer first, then 400 bad_request")
        func garbageAfterAGoodRequest() async throws {
            try await withStack { _, daemon, _ in
                let path = daemon.socketPath
                let request = Array("GET /v1/status HTTP/1.1\r\nHost: slotgate\r\n\r\nGARBAGE\r\n\r\n".utf8)
                let (bytes, closed) = try await RawSocket.onThread {
                    try RawSocket.exchangeNotingClose(path: path, bytes: request, readTimeout: .seconds(3))
                }
                let first = try #require(RawSocket.firstReply(bytes), "no answer")
                daemon.record(first, method: "GET", uri: "/v1/status")
                #expect(first.status == 200, "the good request's answer: \(first)")
                let firstLength = try #require(bytes.firstRange(of: Array("\r\n\r\n".utf8))).upperBound + first.body.count
                let second = try #require(RawSocket.firstReply(Array(bytes[firstLength...])), "no second answer")
                daemon.record(second)
                expectError(second, 400, "bad_request")
                #expect(closed, "the connection was still open 3 s after the 400")
            }
        }

        @Test("503 wait_timeout: try-once and a short wait")
        func waitTimeout() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                _ = try await daemon.grantedLease(wait: 5)
                expectError(try await daemon.acquire(wait: 0), 503, "wait_timeout")
                let started = ContinuousClock.now
                expectError(try await daemon.acquire(wait: 0.5), 503, "wait_timeout")
                let waited = ContinuousClock.now - started
                #expect(waited >= .milliseconds(450) && waited < .seconds(5), "answered after \(waited)")
                let proxied = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [("Slotgate-Wait", "0")])
                expectError(proxied, 503, "wait_timeout")
            }
        }

        @Test("503 upstream_unavailable: a try-once request before any platform reading")
        func upstreamUnavailable() async throws {
            // The platform is gone before the daemon starts: it never gets a reading.
            let stopPlatform: (Simulator) async throws -> Void = { simulator in await simulator.stop() }
            try await withStack(beforeDaemon: stopPlatform) { _, daemon, _ in
                let status = try await daemon.status()
                #expect(status["paused_by"] as? String == "upstream_unavailable")
                #expect((status["upstream"] as? [String: Any])?["healthy"] as? Bool == false)
                #expect(DaemonProcess.slots(status, "limit") == 0)
                expectError(try await daemon.acquire(wait: 0), 503, "upstream_unavailable")
                let proxied = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [("Slotgate-Wait", "0")])
                expectError(proxied, 503, "upstream_unavailable")
            }
        }

        @Test("503 queue_full: the global cap queue.max_waiters and the per-holder cap queue.max_per_holder")
        func queueFull() async throws {
            let environment = ["SLOTGATE_QUEUE_MAX_WAITERS": "2", "SLOTGATE_QUEUE_MAX_PER_HOLDER": "1"]
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none"), environment: environment) { _, daemon, _ in
                _ = try await daemon.grantedLease(holder: "a", wait: 5)
                expectError(try await daemon.acquire(holder: "a", wait: 5), 503, "queue_full")
                let waiters = ["b", "c"].map { holder in Task { try await daemon.acquire(holder: holder, wait: 4, timeout: .seconds(10)) } }
                try await daemon.waitForStatus("two waiters") { DaemonProcess.waiting($0) == 2 }
                expectError(try await daemon.acquire(holder: "d", wait: 5), 503, "queue_full")
                let proxied = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [("Slotgate-Holder", "e")])
                expectError(proxied, 503, "queue_full")
                for waiter in waiters {
                    expectError(try await waiter.value, 503, "wait_timeout")
                }
            }
        }

        @Test("503 token_budget_exhausted: a try-once request while the token allowance is below tokens.min_remaining")
        func tokenBudget() async throws {
            // The daemon's first token reading already shows 10 left, below tokens.min_remaining 50.
            let spendTokens: (Simulator) async throws -> Void = { simulator in try await simulator.setTokens(limit: 100, used: 90) }
            try await withStack(environment: ["SLOTGATE_TOKENS_MIN_REMAINING": "50"], beforeDaemon: spendTokens) { _, daemon, _ in
                let status = try await daemon.waitForStatus("paused_by token_budget") { $0["paused_by"] as? String == "token_budget" }
                #expect((status["tokens"] as? [String: Any])?["remaining"] as? Int == 10)
                expectError(try await daemon.acquire(wait: 0), 503, "token_budget_exhausted")
            }
        }

        @Test("502 upstream_error: the proxy meets 5xx until the wait runs out")
        func upstreamError() async throws {
            try await withStack { simulator, daemon, _ in
                try await simulator.setFaults(["server_errors": 1_000_000, "routes": ["create"]])
                let reply = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [("Slotgate-Wait", "1")])
                expectError(reply, 502, "upstream_error")
                let lease = try #require(reply.header("Slotgate-Lease"), "a proxied create that got a lease names it")
                #expect(reply.header("Slotgate-Waited-Ms") != nil)
                // The create is not settled: the daemon keeps sending it with the same key, and the lease holds its slot.
                #expect(reply.header("Idempotency-Key") != nil, "the answer names the key to retry with")
                #expect(try await daemon.lease(lease)?["state"] as? String == "granted")
                try await simulator.setFaults([:])
                try await eventually("the daemon's retry settles the create", timeout: .seconds(20), interval: .milliseconds(50)) {
                    try await daemon.lease(lease)?["state"] as? String == "bound"
                }
                #expect(try await simulator.stats().createsAccepted == 1)
            }
        }
    }
}
