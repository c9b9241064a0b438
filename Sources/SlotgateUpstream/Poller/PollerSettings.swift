//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How often the poller reads the platform, and how it backs off (design.md "Polling").
public struct PollerSettings: Sendable {
    /// The interval while anyone waits or a lease is unbound or draining (`upstream.poll_interval_s`).
    public var fastInterval: Duration
    /// The interval when nothing needs watching closely (`upstream.idle_poll_interval_s`).
    public var idleInterval: Duration
    /// The shortest time between two successful token-quota reads.
    public var tokenInterval: Duration
    /// The backoff after failed polls, token reads and session reads.
    public var backoff: Backoff
    /// The source of jitter for the backoff.
    public var jitter: Jitter
    /// The shortest time between the starts of two polls asked for with `pollNow`.
    public var minimumGap: Duration
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    public var longestRetryAfter: Duration
    /// How many session status reads and cancels run at once.
    public var maxConcurrentSessionWork: Int
    /// Status reads per poll that stand in for the session list while the platform refuses it: the poll stays
    /// O(1) calls per interval (design.md invariant 6), and every tracked session is read in turn.
    public var statusReadsWithoutList = 4

    /// Creates settings.
    /// - Parameters:
    ///   - fastInterval: the interval while anyone waits (default 2 s).
    ///   - idleInterval: the interval when idle (default 30 s).
    ///   - tokenInterval: the shortest time between token-quota reads (default 60 s).
    ///   - backoff: the backoff after failures (default from 1 s, full jitter, capped at 60 s).
    ///   - jitter: the source of jitter (default the system generator).
    ///   - minimumGap: the shortest time between the starts of two polls asked for with `pollNow` (default 200 ms).
    ///   - longestRetryAfter: the longest `Retry-After` honoured (default 300 s).
    ///   - maxConcurrentSessionWork: session reads and cancels at once (default 4).
    public init(
        fastInterval: Duration = .seconds(2),
        idleInterval: Duration = .seconds(30),
        tokenInterval: Duration = .seconds(60),
        backoff: Backoff = Backoff(),
        jitter: Jitter = .system,
        minimumGap: Duration = .milliseconds(200),
        longestRetryAfter: Duration = .seconds(300),
        maxConcurrentSessionWork: Int = 4
    ) {
        self.fastInterval = fastInterval
        self.idleInterval = idleInterval
        self.tokenInterval = tokenInterval
        self.backoff = backoff
        self.jitter = jitter
        self.minimumGap = minimumGap
        self.longestRetryAfter = longestRetryAfter
        self.maxConcurrentSessionWork = max(1, maxConcurrentSessionWork)
    }

    /// The wait after `failures` consecutive failures: `Retry-After` when given (at most ``longestRetryAfter``),
    /// otherwise the backoff with full jitter.
    /// - Parameters:
    ///   - failures: consecutive failures, this one included (1 after the first).
    ///   - retryAfter: the delay the platform asked for, if any.
    public func delay(afterFailures failures: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter {
            return min(max(retryAfter, .zero), longestRetryAfter)
        }
        return backoff.delay(attempt: failures - 1, jitter: jitter)
    }
}
