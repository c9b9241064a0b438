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
    /// The operations of `docs/openapi.yaml` that no other end-to-end test reaches. Their answers are recorded like
    /// every other (``AnswerLog``), and `Tests/python/test_openapi.py` requires every documented operation to have
    /// been seen at least once, so this suite keeps the document free of routes the daemon does not serve.
    @Suite("Documented routes")
    struct DocumentedRoutes {
        static let createBody: [String: any Sendable] = ["agent": "h/x", "messages": "m", "queue": false]

        @Test("probes, streamed outcomes, a lease's whole life through the proxy, the listing with ?all=1, pass-through methods")
        func everyDocumentedOperation() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                try await daemon.waitForStatus("a platform reading") { ($0["upstream"] as? [String: Any])?["healthy"] as? Bool == true }
                let health = try await daemon.get("/healthz")
                #expect(health.status == 200 && health.string("status") == "ok", "\(health)")
                let metrics = try await daemon.get("/metrics")
                #expect(metrics.status == 200 && metrics.text.contains("slotgate_"), "\(metrics)")

                // A streamed wait granted at once (Accept names NDJSON): one granted event.
                let granted = try await daemon.request(
                    .POST,
                    "/v1/leases",
                    json: ["holder": "docs", "wait_s": 10, "claim_ttl_s": 3600],
                    headers: [("Accept", "application/x-ndjson")]
                )
                #expect(granted.status == 200 && granted.header("Content-Type") == "application/x-ndjson", "\(granted)")
                let event = try #require(
                    (try? JSONSerialization.jsonObject(with: Data(granted.body))) as? [String: Any],
                    "one event: \(granted.text)"
                )
                let lease = try #require((event["lease"] as? [String: Any])?["id"] as? String, "the granted event: \(event)")

                // The only slot is held: a streamed wait that runs out gets queued, then an error event.
                let timedOut = try await daemon.request(.POST, "/v1/leases?stream=1", json: ["holder": "docs-late", "wait_s": 0.5])
                #expect(timedOut.status == 200, "\(timedOut)")
                #expect(timedOut.text.contains(#""event":"queued""#) && timedOut.text.contains("wait_timeout"), "\(timedOut.text)")

                #expect(try await daemon.request(.POST, "/v1/leases/\(lease)/renew").status == 200)
                let created = try await daemon.request(.POST, "/api/v2/sessions", json: Self.createBody, headers: [("Slotgate-Lease", lease)])
                #expect(created.status == 201 && created.header("Slotgate-Lease") == lease, "\(created)")
                let session = try #require(created.string("id"), "the platform's session: \(created)")
                let renewedBound = try await daemon.request(.POST, "/v1/leases/\(lease)/renew")
                #expect(renewedBound.status == 200 && renewedBound.string("state") == "bound", "\(renewedBound)")
                #expect(try await daemon.get("/v1/leases/\(lease)").string("session_id") == session)
                #expect(try await daemon.get("/api/v2/sessions").status == 200)

                // Pass-through with the methods no other test sends: the platform's answer, whatever it is, comes back.
                let forwarded: [(HTTPMethod, String, [String: any Sendable])] = [
                    (.POST, "/api/v2/sessions/\(session)/messages", ["messages": "hi"]),
                    (.PUT, "/api/v2/sessions/\(session)", ["title": "docs"]),
                    (.PATCH, "/api/v2/sessions/\(session)", ["title": "docs"]),
                ]
                for (method, path, body) in forwarded {
                    let reply = try await daemon.request(method, path, json: body)
                    #expect(reply.status != 403 && reply.status != 502, "\(method) \(path) passes through: \(reply)")
                }

                let released = try await daemon.request(.DELETE, "/v1/leases/\(lease)?cancel_session=1")
                #expect(released.status == 200, "\(released)")
                let all = try await daemon.get("/v1/leases?all=1")
                let ids = (all.json?["leases"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                #expect(ids.contains(lease), "the listing with ?all=1: \(all)")
            }
        }
    }
}
