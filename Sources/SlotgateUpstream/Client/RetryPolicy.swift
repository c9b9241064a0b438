//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOHTTP1
import SlotgateCore

/// When and how long the client waits before trying a request again (agp-api.md §5).
///
/// The decision table is ``shouldRetry(method:status:isCreate:)``; the wait is ``delay(attempt:retryAfter:)``.
public struct RetryPolicy: Sendable {
    /// Attempts per read or cancel, the first included (creates retry until their deadline instead).
    public var maxAttempts: Int
    /// The backoff between attempts when the platform sends no `Retry-After`.
    public var backoff: Backoff
    /// The longest wait the client does itself between attempts. A `Retry-After` asking for more ends
    /// the retries, and the error carries the delay so the caller (the poller) can wait it out.
    public var longestWait: Duration
    /// The source of jitter for the backoff.
    public var jitter: Jitter

    /// Creates a policy.
    /// - Parameters:
    ///   - maxAttempts: attempts per read or cancel, the first included (default 3).
    ///   - backoff: the backoff without `Retry-After` (default 1 s doubling, capped at 60 s).
    ///   - longestWait: the longest wait between attempts the client does itself (default 10 s).
    ///   - jitter: the source of jitter (default the system generator).
    public init(maxAttempts: Int = 3, backoff: Backoff = Backoff(), longestWait: Duration = .seconds(10), jitter: Jitter = .system) {
        self.maxAttempts = max(1, maxAttempts)
        self.backoff = backoff
        self.longestWait = longestWait
        self.jitter = jitter
    }

    /// Whether a failed attempt may be tried again.
    ///
    /// | answer | GET, DELETE | POST /sessions (same `Idempotency-Key`) |
    /// | --- | --- | --- |
    /// | no answer (timeout, connection error) | yes | yes |
    /// | 408 | yes | yes |
    /// | 409 | no | yes (a request with the same key is in flight) |
    /// | 429 | yes | no (the caller requeues) |
    /// | 5xx | yes | yes |
    /// | anything else | no | no |
    ///
    /// Other methods (POST other than create, PATCH, PUT) are never retried.
    /// - Parameters:
    ///   - method: the request's method.
    ///   - status: the HTTP status of the answer, or nil when no answer came.
    ///   - isCreate: whether the request is `POST /sessions` with an `Idempotency-Key`.
    public static func shouldRetry(method: HTTPMethod, status: Int?, isCreate: Bool) -> Bool {
        let idempotent = method == .GET || method == .DELETE || method == .HEAD
        guard idempotent || (isCreate && method == .POST) else { return false }
        guard let status else { return true }
        switch status {
        case 408, 500...599: return true
        case 409: return isCreate
        case 429: return !isCreate
        default: return false
        }
    }

    /// The wait before the next attempt: `Retry-After` when the platform sent one, otherwise the backoff
    /// with full jitter; nil when `Retry-After` asks for more than ``longestWait``.
    /// - Parameters:
    ///   - attempt: failures so far minus one: 0 before the first retry.
    ///   - retryAfter: the delay the platform asked for, if any.
    public func delay(attempt: Int, retryAfter: Duration?) -> Duration? {
        if let retryAfter {
            let wait = max(retryAfter, .zero)
            return wait <= longestWait ? wait : nil
        }
        return backoff.delay(attempt: attempt, jitter: jitter)
    }
}
