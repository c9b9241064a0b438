//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SlotgateCore
import SlotgateUpstream
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    static let now = ISO8601.parse("2026-11-29T12:00:00Z") ?? .distantPast

    @Test func retryAfterSeconds() {
        #expect(RetryAfter.delay("2", now: Self.now) == .seconds(2))
        #expect(RetryAfter.delay(" 120 ", now: Self.now) == .seconds(120))
        #expect(RetryAfter.delay("0", now: Self.now) == .zero)
    }

    @Test func retryAfterHTTPDates() {
        #expect(RetryAfter.delay("Sun, 29 Nov 2026 12:00:30 GMT", now: Self.now) == .seconds(30))
        #expect(RetryAfter.delay("Sunday, 29-Nov-26 12:01:00 GMT", now: Self.now) == .seconds(60))
        #expect(RetryAfter.delay("Sun Nov 29 12:00:05 2026", now: Self.now) == .seconds(5))
        // A date in the past means "now".
        #expect(RetryAfter.delay("Sun, 29 Nov 2026 11:00:00 GMT", now: Self.now) == .zero)
        #expect(RetryAfter.httpDate("Sun, 06 Nov 1994 08:49:37 GMT") == ISO8601.parse("1994-11-06T08:49:37Z"))
    }

    @Test(arguments: [
        "", "soon", "-1", "1.5", "2s", "99999999999999999999", "Sun, 32 Nov 2026 12:00:00 GMT",
        "Sun, 29 Foo 2026 12:00:00 GMT", "Sun, 29 Nov 2026 12:00:00 PST", "Sun, 29 Nov 2026 25:00:00 GMT",
    ])
    func retryAfterGarbage(_ value: String) {
        #expect(RetryAfter.delay(value, now: Self.now) == nil)
    }

    @Test func backoffCeilingsDoubleUpToTheCap() {
        let backoff = Backoff()
        #expect(backoff.ceiling(attempt: 0) == .seconds(1))
        #expect(backoff.ceiling(attempt: 1) == .seconds(2))
        #expect(backoff.ceiling(attempt: 5) == .seconds(32))
        #expect(backoff.ceiling(attempt: 6) == .seconds(60))
        #expect(backoff.ceiling(attempt: 1000) == .seconds(60))
        #expect(backoff.ceiling(attempt: -3) == .seconds(1))
    }

    @Test func fullJitterStaysWithinZeroAndTheCeiling() {
        let backoff = Backoff(base: .milliseconds(10), cap: .milliseconds(300))
        #expect(backoff.delay(attempt: 3, jitter: .fixed(0)) == .zero)
        #expect(backoff.delay(attempt: 3, jitter: .fixed(1)) == .milliseconds(80))
        #expect(backoff.delay(attempt: 3, jitter: .fixed(0.5)) == .milliseconds(40))
        #expect(backoff.delay(attempt: 9, jitter: .fixed(7)) == .milliseconds(300))
        #expect(backoff.delay(attempt: 1, jitter: Jitter { .nan }) == .zero)
        for attempt in 0..<12 {
            let delay = backoff.delay(attempt: attempt, jitter: .system)
            #expect(delay >= .zero)
            #expect(delay <= backoff.ceiling(attempt: attempt))
        }
    }

    @Test func retryAfterReplacesTheBackoffUpToTheLongestWait() {
        let policy = RetryPolicy(longestWait: .seconds(10), jitter: .fixed(1))
        #expect(policy.delay(attempt: 0, retryAfter: .seconds(2)) == .seconds(2))
        #expect(policy.delay(attempt: 4, retryAfter: nil) == .seconds(16))
        #expect(policy.delay(attempt: 0, retryAfter: .seconds(11)) == nil)
    }

    @Test func pollerDelayHonoursRetryAfterUpToItsCap() {
        let settings = PollerSettings(jitter: .fixed(1), longestRetryAfter: .seconds(90))
        #expect(settings.delay(afterFailures: 1, retryAfter: nil) == .seconds(1))
        #expect(settings.delay(afterFailures: 3, retryAfter: nil) == .seconds(4))
        #expect(settings.delay(afterFailures: 30, retryAfter: nil) == .seconds(60))
        #expect(settings.delay(afterFailures: 1, retryAfter: .seconds(7)) == .seconds(7))
        #expect(settings.delay(afterFailures: 1, retryAfter: .seconds(600)) == .seconds(90))
    }

    struct Row: Sendable, CustomStringConvertible {
        var method: HTTPMethod
        var status: Int?
        var isCreate: Bool
        var retry: Bool
        var description: String { "\(method) \(status.map(String.init) ?? "no answer") create=\(isCreate) → \(retry)" }
    }

    static let table: [Row] = [
        Row(method: .GET, status: nil, isCreate: false, retry: true),
        Row(method: .GET, status: 408, isCreate: false, retry: true),
        Row(method: .GET, status: 429, isCreate: false, retry: true),
        Row(method: .GET, status: 500, isCreate: false, retry: true),
        Row(method: .GET, status: 502, isCreate: false, retry: true),
        Row(method: .GET, status: 503, isCreate: false, retry: true),
        Row(method: .GET, status: 504, isCreate: false, retry: true),
        Row(method: .GET, status: 400, isCreate: false, retry: false),
        Row(method: .GET, status: 401, isCreate: false, retry: false),
        Row(method: .GET, status: 403, isCreate: false, retry: false),
        Row(method: .GET, status: 404, isCreate: false, retry: false),
        Row(method: .GET, status: 409, isCreate: false, retry: false),
        Row(method: .GET, status: 422, isCreate: false, retry: false),
        Row(method: .GET, status: 200, isCreate: false, retry: false),
        Row(method: .DELETE, status: 503, isCreate: false, retry: true),
        Row(method: .DELETE, status: 404, isCreate: false, retry: false),
        Row(method: .DELETE, status: nil, isCreate: false, retry: true),
        Row(method: .POST, status: 409, isCreate: true, retry: true),
        Row(method: .POST, status: 500, isCreate: true, retry: true),
        Row(method: .POST, status: 503, isCreate: true, retry: true),
        Row(method: .POST, status: nil, isCreate: true, retry: true),
        Row(method: .POST, status: 429, isCreate: true, retry: false),
        Row(method: .POST, status: 400, isCreate: true, retry: false),
        Row(method: .POST, status: 401, isCreate: true, retry: false),
        Row(method: .POST, status: 404, isCreate: true, retry: false),
        Row(method: .POST, status: 422, isCreate: true, retry: false),
        Row(method: .POST, status: 201, isCreate: true, retry: false),
        Row(method: .POST, status: 503, isCreate: false, retry: false),
        Row(method: .POST, status: nil, isCreate: false, retry: false),
        Row(method: .PATCH, status: 503, isCreate: false, retry: false),
    ]

    @Test(arguments: Self.table)
    func decisionTable(_ row: Row) {
        #expect(RetryPolicy.shouldRetry(method: row.method, status: row.status, isCreate: row.isCreate) == row.retry)
    }
}
