//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SlotgateCore
import SlotgateServer
import Testing

/// The routes called directly (no socket): shapes, parsing and the error mapping of socket-api.md.
@Suite struct APIRouterTests {
    static func application(
        limit: Int? = 2,
        configure: (inout GatekeeperSettings) -> Void = { _ in }
    ) async -> (
        some ApplicationProtocol, Gatekeeper
    ) {
        var settings = GatekeeperSettings()
        // The reading below must stay fresh however long a loaded machine takes to run the test.
        settings.maxStaleness = .seconds(3600)
        configure(&settings)
        let gatekeeper = Gatekeeper(settings: settings, host: "router-test", logger: Logger(label: "test"))
        if let limit {
            await gatekeeper.observe(
                PlatformSnapshot(sentAt: WallClock().now, quota: QuotaReading(scope: .org, limit: limit, active: 0), sessions: [])
            )
        }
        let api = APIContext(gatekeeper: gatekeeper, platform: nil, version: "test", host: "router-test", logger: Logger(label: "test"))
        return (Application(router: buildAPIRouter(api)), gatekeeper)
    }

    static func json(_ buffer: ByteBuffer) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))
        return try #require(object as? [String: Any])
    }

    static func errorCode(_ buffer: ByteBuffer) throws -> String? {
        let error = try json(buffer)["error"] as? [String: Any]
        #expect(error?["message"] is String)
        return error?["code"] as? String
    }

    @Test func statusBeforeTheFirstReadingHasNullsAndZeroes() async throws {
        let (app, _) = await Self.application(limit: nil)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response.body)
                #expect(body["paused_by"] as? String == "upstream_unavailable")
                #expect(body["tokens"] is NSNull)
                let upstream = try #require(body["upstream"] as? [String: Any])
                #expect(upstream["healthy"] as? Bool == false)
                for key in ["scope", "limit", "active", "available"] { #expect(upstream[key] is NSNull, "\(key)") }
                let slots = try #require(body["slots"] as? [String: Any])
                #expect(slots["limit"] as? Int == 0)
                #expect(slots["free"] as? Int == 0)
                let queue = try #require(body["queue"] as? [String: Any])
                #expect(queue["oldest_wait_ms"] as? Int == 0)
                #expect((queue["priorities"] as? [Any])?.isEmpty == true)
                #expect(body["mode"] as? String == "local")
            }
        }
    }

    @Test func aLeaseHasEveryDocumentedKey() async throws {
        let (app, _) = await Self.application()
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/leases", method: .post, body: ByteBuffer(string: #"{"holder":"a","wait_s":0}"#)) { response in
                #expect(response.status == .created)
                let lease = try Self.json(response.body)
                for key in [
                    "id", "state", "holder", "uid", "pid", "priority", "session_id", "requested_at", "granted_at", "expires_at", "released_at",
                    "waited_ms", "host", "eta_s",
                ] {
                    #expect(lease.keys.contains(key), "\(key)")
                }
                #expect(lease["state"] as? String == "granted")
                #expect(lease["session_id"] is NSNull)
                #expect(lease["eta_s"] is NSNull, "only a waiting lease has an estimate")
            }
        }
    }

    @Test(arguments: [
        (#"{"holder": 5}"#, "holder"),
        (#"{"priority": 1.5}"#, "priority"),
        (#"{"priority": 11}"#, "priority"),
        (#"{"priority": "1"}"#, "priority"),
        (#"{"wait_s": -1}"#, "wait_s"),
        (#"{"wait_s": true}"#, "wait_s"),
        (#"{"wait_s": 86401}"#, "wait_s"),
        (#"{"claim_ttl_s": 0}"#, "claim_ttl_s"),
        (#"{"claim_ttl_s": 3601}"#, "claim_ttl_s"),
        (#"{"wait": 1}"#, "wait"),
        (#"[1, 2]"#, "object"),
        (#"{"holder": "a""#, "JSON"),
    ])
    func malformedLeaseRequestsAreBadRequestsNamingTheField(body: String, field: String) async throws {
        let (app, _) = await Self.application()
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/leases", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let code = try Self.errorCode(response.body)
                #expect(code == "bad_request")
                let message = try #require((try Self.json(response.body)["error"] as? [String: Any])?["message"] as? String)
                #expect(message.contains(field), "\(message)")
            }
        }
    }

    @Test func decimalsAndAnEmptyBodyAreValid() async throws {
        let (app, _) = await Self.application()
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/leases", method: .post, body: ByteBuffer(string: #"{"wait_s": 0.5, "claim_ttl_s": 1.5}"#)) {
                #expect($0.status == .created)
            }
            try await client.execute(uri: "/v1/leases", method: .post) { #expect($0.status == .created) }
        }
    }

    @Test func unknownPathsWrongMethodsAndLargeBodies() async throws {
        let (app, _) = await Self.application()
        try await app.test(.router) { client in
            try await client.execute(uri: "/v2/nothing", method: .get) { response in
                #expect(response.status == .notFound)
                let code = try Self.errorCode(response.body)
                #expect(code == "not_found")
            }
            try await client.execute(uri: "/v1/status", method: .post) { response in
                #expect(response.status == .methodNotAllowed)
                let code = try Self.errorCode(response.body)
                #expect(code == "method_not_allowed")
                #expect(response.headers[.allow] == "GET")
            }
            let big = ByteBuffer(repeating: UInt8(ascii: " "), count: 64 * 1024 + 1)
            try await client.execute(uri: "/v1/leases", method: .post, body: big) { response in
                #expect(response.status == .contentTooLarge)
                let code = try Self.errorCode(response.body)
                #expect(code == "body_too_large")
            }
        }
    }

    @Test func leaseErrorsMapToTheirStatuses() async throws {
        let (app, gatekeeper) = await Self.application(limit: 1)
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/leases/lse_nope", method: .get) { response in
                #expect(response.status == .notFound)
                let code = try Self.errorCode(response.body)
                #expect(code == "lease_not_found")
            }
            // The router's test client has no peer credentials: its requests come from the unreadable peer, which
            // owns this lease (another uid's lease answers 403; LeaseAccessTests).
            let lease = try await gatekeeper.acquire(AcquireRequest(uid: PeerCredentials.unreadable.uid, wait: .zero)).get()
            try await client.execute(uri: "/v1/leases", method: .post, body: ByteBuffer(string: #"{"wait_s":0}"#)) { response in
                #expect(response.status == .serviceUnavailable)
                let code = try Self.errorCode(response.body)
                #expect(code == "wait_timeout")
                #expect(response.headers[.retryAfter] != nil)
            }
            let path = "/v1/leases/\(lease.id)/session"
            try await client.execute(uri: path, method: .post, body: ByteBuffer(string: #"{"session_id":"s1"}"#)) { #expect($0.status == .ok) }
            try await client.execute(uri: path, method: .post, body: ByteBuffer(string: #"{"session_id":"s2"}"#)) { response in
                #expect(response.status == .conflict)
                let code = try Self.errorCode(response.body)
                #expect(code == "lease_conflict")
            }
            try await client.execute(uri: path, method: .post, body: ByteBuffer(string: #"{"session":"s2"}"#)) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/v1/leases/\(lease.id)", method: .delete) { response in
                #expect(response.status == .ok)
                let state = try Self.json(response.body)["state"] as? String
                #expect(state == "draining")
            }
        }
    }

    @Test func listingShowsLeasesAndWaitersWithPositions() async throws {
        let (app, gatekeeper) = await Self.application(limit: 1)
        _ = try await gatekeeper.acquire(AcquireRequest(holder: "held", wait: .zero)).get()
        let waiter = Task { await gatekeeper.acquire(AcquireRequest(holder: "waits", wait: .seconds(30))) }
        var version = await gatekeeper.currentQueueVersion
        while await gatekeeper.status().waiting == 0 { version = await gatekeeper.queueChange(after: version) }
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/leases", method: .get) { response in
                let body = try Self.json(response.body)
                let leases = try #require(body["leases"] as? [[String: Any]])
                let waiting = try #require(body["waiting"] as? [[String: Any]])
                #expect(leases.count == 1)
                #expect(waiting.first?["holder"] as? String == "waits")
                #expect(waiting.first?["position"] as? Int == 1)
                #expect(waiting.first?.keys.contains("waiting_ms") == true)
            }
            try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body).contains("slotgate_waiters 1"))
            }
        }
        await gatekeeper.shutdown()
        #expect(await waiter.value == .failure(.shuttingDown))
    }
}
