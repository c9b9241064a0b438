//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Invariant 5 (the key never leaves the daemon) and SO_PEERCRED. Every other test also checks its daemon's
    /// stderr and answers for the key (``withStack(simulator:environment:config:beforeDaemon:_:)``).
    @Suite("The key and the peer")
    struct SecretAndPeer {
        @Test("the key never appears in logs, answers, /metrics or /v1/status, through grants, the proxy and upstream failures")
        func keyNeverLeaks() async throws {
            try await withStack { simulator, daemon, _ in
                let lease = try #require(try await daemon.grantedLease(wait: 5)["id"] as? String)
                #expect(try await daemon.release(lease).status == 200)
                let created = try await daemon.request(
                    .POST,
                    "/api/v2/sessions",
                    json: ["agent": "h/x", "messages": "m", "queue": false],
                    headers: [("Authorization", "Bearer client-own-token")]
                )
                #expect(created.status == 201, "proxied create: \(created)")
                let session = try #require(created.string("id"))
                // A pass-through read, with the client's own Authorization replaced by the daemon's key.
                let read = try await daemon.request(
                    .GET,
                    "/api/v2/sessions/\(session)",
                    headers: [("Authorization", "Bearer client-own-token")]
                )
                #expect(read.status == 200, "pass-through read: \(read)")
                // Upstream failures make the daemon log errors about its requests.
                try await simulator.setFaults(["server_errors": 6])
                _ = try await daemon.get("/api/v2/sessions/\(session)/status")
                _ = try await daemon.request(
                    .POST,
                    "/api/v2/sessions",
                    json: ["agent": "h/x", "queue": false],
                    headers: [("Slotgate-Wait", "0.5")]
                )
                try await Task.sleep(for: .milliseconds(600))
                try await simulator.setFaults([:])

                let metrics = try await daemon.get("/metrics")
                #expect(metrics.status == 200)
                #expect(metrics.text.contains("slotgate_"), "Prometheus names are prefixed slotgate_")
                let status = try await daemon.get("/v1/status")
                #expect(status.status == 200)
                let leakedInMetrics = metrics.text.contains(E2E.apiKey)
                let leakedInStatus = status.text.contains(E2E.apiKey)
                #expect(!leakedInMetrics, "the API key appeared in /metrics")
                #expect(!leakedInStatus, "the API key appeared in /v1/status")
                // stderr and every answer are checked when the stack stops.
            }
        }

        @Test("a key the platform refuses (401) is not shown either")
        func refusedKeyNeverLeaks() async throws {
            let options = SimulatorOptions(extraArguments: ["--api-key", "hk-some-other-key"], acceptE2EKey: false)
            try await withStack(simulator: options) { _, daemon, _ in
                let status = try await daemon.waitForStatus("the refusal seen", timeout: .seconds(10)) { status in
                    ((status["upstream"] as? [String: Any])?["last_error"] as? String) != nil
                }
                #expect(status["paused_by"] as? String == "upstream_unavailable")
                let forwarded = try await daemon.get("/api/v2/sessions/quota")
                #expect(forwarded.status == 401, "the platform's refusal passes through: \(forwarded)")
                let metrics = try await daemon.get("/metrics")
                let leaked = metrics.text.contains(E2E.apiKey)
                #expect(!leaked, "the API key appeared in /metrics")
            }
        }

        @Test("a lease records the connecting process's uid, gid and pid (SO_PEERCRED)")
        func peerCredentials() async throws {
            try await withStack { _, daemon, _ in
                let lease = try await daemon.grantedLease(wait: 5)
                #expect(lease["uid"] as? Int == Int(getuid()))
                #expect(lease["gid"] as? Int == Int(getgid()))
                #expect(lease["pid"] as? Int == Int(getpid()))

                let proxied = try await daemon.request(.POST, "/api/v2/sessions", json: ["agent": "h/x", "queue": false])
                let id = try #require(proxied.header("Slotgate-Lease"), "proxied create: \(proxied)")
                let proxiedLease = try await daemon.lease(id)
                #expect(proxiedLease?["uid"] as? Int == Int(getuid()))
                #expect(proxiedLease?["pid"] as? Int == Int(getpid()))
            }
        }

        @Test("a claimed uid or pid in the body is refused: the kernel's word is the only one")
        func cannotClaimAnotherUID() async throws {
            try await withStack { _, daemon, _ in
                let reply = try await daemon.request(.POST, "/v1/leases", json: ["uid": 0, "pid": 1, "wait_s": 0])
                expectError(reply, 400, "bad_request")
            }
        }
    }
}
