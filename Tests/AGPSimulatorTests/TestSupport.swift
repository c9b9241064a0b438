//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.current = Mutex(start)
    }

    var now: Date { self.current.withLock { $0 } }

    func advance(by duration: Duration) {
        let parts = duration.components
        let seconds = Double(parts.seconds) + Double(parts.attoseconds) / 1e18
        self.current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A JSON object read from a response.
typealias JSONObject = [String: Any]

/// A thin client over HummingbirdTesting's router client.
struct SimClient: Sendable {
    static let key = "hk-sim-key"
    let client: any TestClientProtocol

    func request(
        _ method: HTTPRequest.Method,
        _ path: String,
        body: String? = nil,
        key: String? = SimClient.key,
        idempotencyKey: String? = nil
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let key { headers[.authorization] = "Bearer \(key)" }
        if let idempotencyKey, let name = HTTPField.Name("Idempotency-Key") { headers[name] = idempotencyKey }
        if body != nil { headers[.contentType] = "application/json" }
        return try await self.client.executeRequest(
            uri: path,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(string: $0) }
        )
    }

    func get(_ path: String, key: String? = SimClient.key) async throws -> TestResponse {
        try await self.request(.get, path, key: key)
    }

    func delete(_ path: String) async throws -> TestResponse {
        try await self.request(.delete, path)
    }

    func post(_ path: String, _ body: String = "{}", idempotencyKey: String? = nil) async throws -> TestResponse {
        try await self.request(.post, path, body: body, idempotencyKey: idempotencyKey)
    }

    /// Creates a session and returns its id; fails the test unless the answer is 201.
    @discardableResult
    func create(_ body: String = #"{"agent": "h/web-surfer-flash", "messages": "task"}"#, idempotencyKey: String? = nil) async throws -> String {
        let response = try await self.post("/api/v2/sessions", body, idempotencyKey: idempotencyKey)
        #expect(response.status == .created)
        return try #require(try json(response)["id"] as? String)
    }

    func status(_ id: String) async throws -> String? {
        try json(try await self.get("/api/v2/sessions/\(id)/status"))["status"] as? String
    }

    func quota() async throws -> JSONObject {
        try json(try await self.get("/api/v2/sessions/quota"))
    }
}

/// Parses a response body as a JSON object.
func json(_ response: TestResponse) throws -> JSONObject {
    let value = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView), options: [.fragmentsAllowed])
    return try #require(value as? JSONObject)
}

/// The `detail` text of an error body.
func detail(_ response: TestResponse) throws -> String? {
    try json(response)["detail"] as? String
}

/// The first item of a 422 list-shaped body.
func validationItem(_ response: TestResponse) throws -> JSONObject {
    let items = try #require(try json(response)["detail"] as? [JSONObject])
    return try #require(items.first)
}

/// A configuration for tests: the defaults, with a few fields set.
func configuration(_ change: (inout SimulatorConfiguration) -> Void = { _ in }) -> SimulatorConfiguration {
    var configuration = SimulatorConfiguration()
    change(&configuration)
    return configuration
}

/// Runs `body` against a router-level simulator on a manual clock.
func withSimulator<T: Sendable>(
    _ configuration: SimulatorConfiguration = SimulatorConfiguration(),
    clock: ManualClock = ManualClock(),
    _ body: @Sendable (SimClient, SimulatedPlatform, ManualClock) async throws -> T
) async throws -> T {
    let platform = SimulatedPlatform(configuration: configuration, clock: { clock.now })
    let app = Application(router: SimulatorServer.makeRouter(platform))
    return try await app.test(.router) { client in
        try await body(SimClient(client: client), platform, clock)
    }
}
