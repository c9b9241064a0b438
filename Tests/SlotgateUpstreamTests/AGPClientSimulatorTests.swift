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
import SlotgateCore
import Testing

@testable import SlotgateUpstream

@Suite("AGPClient against the simulator", .timeLimit(.minutes(2)))
struct AGPClientSimulatorTests {
    static let createBody = ByteBuffer(string: #"{"agent": "h/web-surfer-flash", "messages": "find a flight", "queue": false}"#)

    static func deadline(_ duration: Duration = .seconds(10)) -> Timestamp {
        WallClock().now.advanced(by: duration)
    }

    // MARK: Endpoints

    @Test func sessionQuota() async throws {
        try await SimulatorHarness.run(simulator: SimulatorHarness.simulator { $0.limit = 4 }) { context in
            #expect(try await context.client.sessionQuota() == QuotaReading(scope: .org, limit: 4, active: 0))
            await context.platform.createExternalSession()
            await context.platform.createExternalSession()
            #expect(try await context.client.sessionQuota() == QuotaReading(scope: .org, limit: 4, active: 2))
            await context.platform.setLimit(1)
            let lowered = try await context.client.sessionQuota()
            #expect(lowered.limit == 1)
            #expect(lowered.available == 0)
        }
    }

    @Test func userScope() async throws {
        try await SimulatorHarness.run(simulator: SimulatorHarness.simulator { $0.scope = "user" }) { context in
            let quota = try await context.client.sessionQuota()
            #expect(quota.scope == .user)
        }
    }

    @Test func tokenQuota() async throws {
        try await SimulatorHarness.run { context in
            let reading = try await context.client.tokenQuota()
            #expect(reading.limit == 15_000_000)
            #expect(reading.used == 0)
            #expect(reading.remaining == 15_000_000)
            // The simulator's window is the month around now, whatever the date.
            let now = WallClock().now
            let start = try #require(reading.windowStart)
            let end = try #require(reading.windowEnd)
            #expect(start <= now && now < end)
        }
    }

    @Test func tokenQuotaNulls() async throws {
        try await SimulatorHarness.run(
            simulator: SimulatorHarness.simulator {
                $0.tokenLimit = 100
                $0.tokenUsed = 40
                $0.tokenRemainingNull = true
                $0.tokenWindow = .currentMonth(endKnown: false)
            }
        ) { context in
            let computed = try await context.client.tokenQuota()
            #expect(computed.remaining == 60)
            #expect(computed.windowEnd == nil)
            await context.platform.setTokens(limit: nil, used: 5)
            let unlimited = try await context.client.tokenQuota()
            #expect(unlimited.limit == nil)
            #expect(unlimited.used == 5)
            #expect(unlimited.remaining == nil)
            await context.platform.setTokens(limit: 100, used: nil)
            let unknownUse = try await context.client.tokenQuota()
            #expect(unknownUse.used == nil)
            #expect(unknownUse.remaining == nil)
        }
    }

    @Test func listFollowsPagesPast100Sessions() async throws {
        try await SimulatorHarness.run(simulator: SimulatorHarness.simulator { $0.limit = 1000 }) { context in
            var ids: Set<String> = []
            for _ in 0..<250 {
                ids.insert(await context.platform.createExternalSession())
            }
            let listed = try await context.client.nonTerminalSessions(owner: .organization)
            #expect(listed.count == 250)
            #expect(Set(listed.map(\.id)) == ids)
            #expect(listed.allSatisfy { !$0.status.isTerminal })
            #expect(await context.platform.stats().requests["list"] == 3)

            // A finished session leaves the list; another user's sessions are not "mine".
            let first = try #require(listed.first)
            await context.platform.finishSession(first.id, status: "completed")
            let after = try await context.client.nonTerminalSessions(owner: .organization)
            #expect(after.count == 249)
            #expect(!after.contains { $0.id == first.id })
            #expect(try await context.client.nonTerminalSessions(owner: .me).isEmpty)
        }
    }

    @Test func listOfExactly100SessionsIsOnePage() async throws {
        try await SimulatorHarness.run(simulator: SimulatorHarness.simulator { $0.limit = 1000 }) { context in
            for _ in 0..<100 { await context.platform.createExternalSession() }
            let listed = try await context.client.nonTerminalSessions(owner: .organization)
            #expect(listed.count == 100)
            #expect(await context.platform.stats().requests["list"] == 1)
        }
    }

    @Test func sessionStatusAnd404() async throws {
        try await SimulatorHarness.run { context in
            let id = await context.platform.createExternalSession()
            let status = try await context.client.sessionStatus(id: id)
            #expect(status == .pending || status == .running)
            await context.platform.finishSession(id, status: "failed")
            #expect(try await context.client.sessionStatus(id: id) == .failed)
            #expect(try await context.client.sessionStatus(id: UUID().uuidString.lowercased()) == nil)
        }
    }

    @Test func createThenReplayWithTheSameKey() async throws {
        try await SimulatorHarness.run { context in
            let key = UUID().uuidString
            let created = try await context.client.createSession(body: Self.createBody, idempotencyKey: key, deadline: Self.deadline())
            #expect(created.status == 201)
            #expect(created.isCreated)
            #expect(!created.isAmbiguous)
            #expect(created.sessionStatus == .pending)
            #expect(created.attempts == 1)
            let id = try #require(created.sessionID)

            let replay = try await context.client.createSession(body: Self.createBody, idempotencyKey: key, deadline: Self.deadline())
            #expect(replay.status == 201)
            #expect(replay.sessionID == id)
            #expect(await context.platform.stats().createsAccepted == 1)
            #expect(try await context.client.sessionQuota().active == 1)
        }
    }

    @Test func create429IsReturnedNotRetried() async throws {
        try await SimulatorHarness.run(simulator: SimulatorHarness.simulator { $0.limit = 1 }) { context in
            await context.platform.createExternalSession()
            let refused = try await context.client.createSession(
                body: Self.createBody,
                idempotencyKey: UUID().uuidString,
                deadline: Self.deadline()
            )
            #expect(refused.status == 429)
            #expect(refused.attempts == 1)
            #expect(!refused.isCreated)
            #expect(WireFormat.errorMessage(refused.response.body)?.contains("limit reached") == true)
            let stats = await context.platform.stats()
            #expect(stats.createsRefused == 1)
            #expect(stats.requests["create"] == 1)
            #expect(context.sleeps.recorded.isEmpty)
        }
    }

    @Test func injected429WithRetryAfterIsReturnedToo() async throws {
        try await SimulatorHarness.run { context in
            await context.platform.setFaults(SimulatorFaults(retryAfterSeconds: 3, tooManyRequests: 1, tooManyRetryAfter: true))
            let result = try await context.client.createSession(
                body: Self.createBody,
                idempotencyKey: UUID().uuidString,
                deadline: Self.deadline()
            )
            #expect(result.status == 429)
            #expect(result.response.headers.first(name: "Retry-After") == "3")
            #expect(await context.platform.stats().injected429 == 1)
        }
    }

    @Test func create409InFlightIsRetriedWithTheSameKey() async throws {
        let sleeps = SleepRecorder(longest: .milliseconds(900))
        try await SimulatorHarness.run(sleeps: sleeps) { context in
            await context.platform.setFaults(SimulatorFaults(slowMilliseconds: 500, routes: ["create"]))
            let key = UUID().uuidString
            // Another request with the same key is in flight (the simulator holds creates while they are slow).
            async let first = context.client(apiKey: SimulatorHarness.key)
                .createSession(body: Self.createBody, idempotencyKey: key, deadline: Self.deadline())
            try await Task.sleep(for: .milliseconds(150))
            let second = try await context.client.createSession(body: Self.createBody, idempotencyKey: key, deadline: Self.deadline())
            let original = try await first
            #expect(original.status == 201)
            #expect(second.status == 201)
            // Whichever request reached the simulator second met the 409 and retried.
            #expect(max(original.attempts, second.attempts) >= 2)
            #expect(second.sessionID == original.sessionID)
            // The 409 asked for `Retry-After: 2`, honoured in place of the backoff.
            #expect(context.sleeps.recorded.first == .seconds(2))
            #expect(await context.platform.stats().createsAccepted == 1)
        }
    }

    @Test func create422ValidationListIsReturned() async throws {
        try await SimulatorHarness.run { context in
            let result = try await context.client.createSession(
                body: ByteBuffer(string: #"{"messages": "no agent"}"#),
                idempotencyKey: UUID().uuidString,
                deadline: Self.deadline()
            )
            #expect(result.status == 422)
            #expect(result.attempts == 1)
            #expect(WireFormat.errorMessage(result.response.body) == "body.agent: Field required")
        }
    }

    @Test func readWith422ListShapeThrowsWithTheMessages() async throws {
        try await SimulatorHarness.run { context in
            let error = try await #require(throws: AGPError.self) {
                _ = try await context.client.cancelSession(id: "not-a-uuid")
            }
            #expect(error.kind == .http)
            #expect(error.status == 422)
            #expect(error.message?.contains("Input should be a valid UUID") == true)
            #expect(error.attempts == 1)
        }
    }

    /// A malformed id fails the platform's path validation (422): no such session exists, so it holds no slot.
    @Test func statusOfAMalformedIDIsNoSession() async throws {
        try await SimulatorHarness.run { context in
            let status = try await context.client.sessionStatus(id: "not-a-uuid")
            #expect(status == nil)
        }
    }

    @Test func cancel204And404() async throws {
        try await SimulatorHarness.run { context in
            let created = try await context.client.createSession(
                body: Self.createBody,
                idempotencyKey: UUID().uuidString,
                deadline: Self.deadline()
            )
            let id = try #require(created.sessionID)
            #expect(try await context.client.cancelSession(id: id))
            #expect(try await context.client.sessionStatus(id: id) == .interrupted)
            #expect(try await context.client.sessionQuota().active == 0)
            #expect(try await context.client.cancelSession(id: UUID().uuidString.lowercased()) == false)
        }
    }

    @Test func forwardReplacesTheClientsAuthorization() async throws {
        try await SimulatorHarness.run { context in
            let response = try await context.client.forward(
                method: .GET,
                path: "/sessions/quota",
                headers: ["Authorization": "Bearer somebody-else", "X-Request": "1"],
                body: nil
            )
            #expect(response.status == 200)
            let text = String(buffer: response.body)
            #expect(text.contains("\"limit\""))
        }
    }

    // MARK: Errors

    @Test func unauthorizedReadsTheGatewayMessageShape() async throws {
        try await SimulatorHarness.run { context in
            let wrongKey = "hk-wrong-key-that-must-not-leak"
            let client = context.client(apiKey: wrongKey)
            let error = try await #require(throws: AGPError.self) {
                _ = try await client.sessionQuota()
            }
            #expect(error.kind == .http)
            #expect(error.status == 401)
            #expect(error.message == "Unauthorized")
            #expect(error.attempts == 1)
            #expect(!error.isTransient)
            #expect(!String(describing: error).contains(wrongKey))
            #expect(!error.localizedDescription.contains(wrongKey))
            #expect(context.logs.all.contains { $0.contains("401") })
            #expect(context.logs.all.allSatisfy { !$0.contains(wrongKey) })

            let noKey = context.client(apiKey: nil)
            let missing = try await #require(throws: AGPError.self) {
                _ = try await noKey.tokenQuota()
            }
            #expect(missing.status == 401)
        }
    }

    // MARK: Faults

    @Test func serverErrorBurstThenSuccess() async throws {
        try await SimulatorHarness.run { context in
            await context.platform.setFaults(SimulatorFaults(serverErrors: 2, routes: ["quota"]))
            let quota = try await context.client.sessionQuota()
            #expect(quota.limit == 3)
            #expect(await context.platform.stats().requests["quota"] == 3)
            #expect(context.sleeps.recorded == [.milliseconds(1), .milliseconds(2)])
        }
    }

    @Test func serverErrorsBeyondTheAttemptsThrow() async throws {
        try await SimulatorHarness.run { context in
            await context.platform.setFaults(SimulatorFaults(serverErrors: 5, routes: ["list"]))
            let error = try await #require(throws: AGPError.self) {
                _ = try await context.client.nonTerminalSessions(owner: .organization)
            }
            #expect(error.kind == .http)
            #expect(error.status == 500)
            #expect(error.attempts == 3)
            #expect(error.isTransient)
        }
    }

    @Test func unavailableWithRetryAfterIsHonoured() async throws {
        try await SimulatorHarness.run { context in
            await context.platform.setFaults(SimulatorFaults(unavailable: 1, retryAfterSeconds: 1, routes: ["status"]))
            let id = await context.platform.createExternalSession()
            let status = try await context.client.sessionStatus(id: id)
            #expect(status != nil)
            #expect(context.sleeps.recorded == [.seconds(1)])
        }
    }

    @Test func retryAfterLongerThanTheLongestWaitEndsTheRetries() async throws {
        try await SimulatorHarness.run { context in
            await context.platform.setFaults(SimulatorFaults(unavailable: 1, retryAfterSeconds: 30, routes: ["quota"]))
            let error = try await #require(throws: AGPError.self) {
                _ = try await context.client.sessionQuota()
            }
            #expect(error.status == 503)
            #expect(error.retryAfter == .seconds(30))
            #expect(error.attempts == 1)
            #expect(context.sleeps.recorded.isEmpty)
        }
    }

    @Test func createRetries5xxWithTheSameKey() async throws {
        try await SimulatorHarness.run { context in
            await context.platform.setFaults(SimulatorFaults(serverErrors: 2, routes: ["create"]))
            let result = try await context.client.createSession(
                body: Self.createBody,
                idempotencyKey: UUID().uuidString,
                deadline: Self.deadline()
            )
            #expect(result.status == 201)
            #expect(result.attempts == 3)
            #expect(await context.platform.stats().createsAccepted == 1)
        }
    }

    @Test func slowAnswerTimesOut() async throws {
        try await SimulatorHarness.run(requestTimeout: .milliseconds(300), maxAttempts: 2) { context in
            await context.platform.setFaults(SimulatorFaults(slowMilliseconds: 1500, routes: ["quota"]))
            let started = ContinuousClock.now
            let error = try await #require(throws: AGPError.self) {
                _ = try await context.client.sessionQuota()
            }
            #expect(error.kind == .timeout)
            #expect(error.status == nil)
            #expect(error.attempts == 2)
            #expect(ContinuousClock.now - started < .milliseconds(1400))
        }
    }

    @Test func slowCreateIsNoAnswer() async throws {
        try await SimulatorHarness.run(requestTimeout: .milliseconds(300)) { context in
            await context.platform.setFaults(SimulatorFaults(slowMilliseconds: 1500, routes: ["create"]))
            let error = try await #require(throws: AGPError.self) {
                _ = try await context.client.createSession(
                    body: Self.createBody,
                    idempotencyKey: UUID().uuidString,
                    deadline: Self.deadline(.milliseconds(300))
                )
            }
            #expect(error.kind == .noAnswer)
            #expect(error.isTransient)
        }
    }

    @Test func connectionRefusedIsATransportError() async throws {
        let client = AGPClient(
            configuration: AGPClientConfiguration(
                baseURL: "http://127.0.0.1:1/api/v2",
                apiKey: APIKey("hk-x"),
                requestTimeout: .milliseconds(300),
                retry: RetryPolicy(maxAttempts: 2, backoff: Backoff(base: .milliseconds(1), cap: .milliseconds(1)))
            ),
            httpClient: .shared,
            logger: LogCapture().logger()
        )
        let error = try await #require(throws: AGPError.self) {
            _ = try await client.sessionQuota()
        }
        #expect(error.kind == .transport || error.kind == .timeout)
        #expect(error.attempts == 2)
    }
}
