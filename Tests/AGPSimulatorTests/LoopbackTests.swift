//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@Suite("Over real HTTP on loopback")
struct LoopbackTests {
    @Test func withRunningServesTheAPIAndControlRoutes() async throws {
        let platform = SimulatedPlatform(configuration: configuration { $0.limit = 1 })
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let result = try await SimulatorServer.withRunning(platform) { baseURL in
                #expect(baseURL.hasPrefix("http://127.0.0.1:"))
                #expect(baseURL.hasSuffix("/api/v2"))
                var create = HTTPClientRequest(url: baseURL + "/sessions")
                create.method = .POST
                create.headers.add(name: "Authorization", value: "Bearer hk-sim-key")
                create.headers.add(name: "Content-Type", value: "application/json")
                create.headers.add(name: "Idempotency-Key", value: "loop-1")
                create.body = .bytes(ByteBuffer(string: #"{"agent": "h/web-surfer-flash", "queue": false}"#))
                let created = try await client.execute(create, timeout: .seconds(5))
                #expect(created.status.code == 201)
                var second = create
                second.headers.replaceOrAdd(name: "Idempotency-Key", value: "loop-2")
                let refused = try await client.execute(second, timeout: .seconds(5))
                #expect(refused.status.code == 429)

                var quota = HTTPClientRequest(url: baseURL + "/sessions/quota")
                quota.headers.add(name: "Authorization", value: "Bearer hk-sim-key")
                let quotaAnswer = try await client.execute(quota, timeout: .seconds(5))
                let quotaBody = try await quotaAnswer.body.collect(upTo: 1 << 16)
                let parsed = try JSONSerialization.jsonObject(with: Data(quotaBody.readableBytesView)) as? [String: Any]
                #expect(parsed?["active"] as? Int == 1)

                let unauthorized = try await client.execute(HTTPClientRequest(url: baseURL + "/sessions"), timeout: .seconds(5))
                #expect(unauthorized.status.code == 401)

                let stats = try await client.execute(
                    HTTPClientRequest(url: baseURL.replacingOccurrences(of: "/api/v2", with: "/_sim/stats")),
                    timeout: .seconds(5)
                )
                let statsBody = try await stats.body.collect(upTo: 1 << 16)
                return try JSONDecoder().decode(SimulatorStats.self, from: Data(statsBody.readableBytesView))
            }
            #expect(result.createsAccepted == 1)
            #expect(result.createsRefused == 1)
            #expect(result.peakNonTerminal == 1)
            #expect(result.requests["quota"] == 1)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
