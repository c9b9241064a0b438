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

@Suite("Control routes and their JSON")
struct ControlTests {
    @Test func statsOverTheControlRouteDecodeEitherWay() async throws {
        try await withSimulator(configuration { $0.limit = 1 }) { client, _, _ in
            try await client.create()
            _ = try await client.post("/api/v2/sessions", #"{"agent": "a"}"#, idempotencyKey: "k")
            let response = try await client.get("/_sim/stats", key: nil)
            let raw = try json(response)
            for key in ["creates_accepted", "creates_refused", "injected_429", "peak_non_terminal", "non_terminal", "limit", "requests", "refused"] {
                #expect(raw[key] != nil, "missing \(key)")
            }
            let data = Data(response.body.readableBytesView)
            let plain = try JSONDecoder().decode(SimulatorStats.self, from: data)
            let snake = JSONDecoder()
            snake.keyDecodingStrategy = .convertFromSnakeCase
            let converted = try snake.decode(SimulatorStats.self, from: data)
            #expect(plain == converted)
            #expect(plain.createsAccepted == 1)
            #expect(plain.createsRefused == 1)
            #expect(plain.refused.first?.idempotencyKey == "k")
            #expect(plain.requests["create"] == 2)
        }
    }

    @Test func finishRouteAndLimitRoute() async throws {
        try await withSimulator(configuration { $0.runDuration = nil }) { client, _, _ in
            let id = try await client.create()
            let finish = try await client.post("/_sim/sessions/\(id)/finish", #"{"status": "timed_out"}"#)
            #expect(finish.status == .ok)
            #expect(try await client.status(id) == "timed_out")
            let unknown = try await client.post("/_sim/sessions/00000000-0000-4000-8000-000000000000/finish", #"{"status": "failed"}"#)
            #expect(unknown.status == .notFound)
            #expect(try await client.post("/_sim/limit", #"{"limit": 7}"#).status == .ok)
            #expect(try await client.quota()["limit"] as? Int == 7)
            #expect(try await client.post("/_sim/limit", #"{}"#).status == .badRequest)
        }
    }

    @Test func faultsRoundTripBothSpellings() throws {
        let faults = SimulatorFaults(serverErrors: 2, tooManyRequests: 1, tooManyRetryAfter: true, slowMilliseconds: 5, routes: ["create"])
        let data = try JSONEncoder().encode(faults)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"server_errors\""))
        #expect(try JSONDecoder().decode(SimulatorFaults.self, from: data) == faults)
        let snake = JSONDecoder()
        snake.keyDecodingStrategy = .convertFromSnakeCase
        #expect(try snake.decode(SimulatorFaults.self, from: data) == faults)
        let camel = Data(#"{"serverErrors": 2, "tooManyRequests": 1, "tooManyRetryAfter": true, "slowMilliseconds": 5, "routes": ["create"]}"#.utf8)
        #expect(try JSONDecoder().decode(SimulatorFaults.self, from: camel) == faults)
        #expect(try JSONDecoder().decode(SimulatorFaults.self, from: Data("{}".utf8)) == SimulatorFaults())
    }
}
