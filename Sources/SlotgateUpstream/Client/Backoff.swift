//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// Exponential backoff with full jitter: attempt `n` waits `random(0, min(cap, base · 2ⁿ))`.
///
/// The defaults follow agp-api.md §5 and design.md "Polling": from 1 s, capped at 60 s.
public struct Backoff: Sendable, Hashable {
    /// The ceiling of the first retry's delay.
    public var base: Duration
    /// The largest delay ever chosen.
    public var cap: Duration

    /// Creates a backoff.
    /// - Parameters:
    ///   - base: the ceiling of the first retry's delay (default 1 s).
    ///   - cap: the largest delay (default 60 s).
    public init(base: Duration = .seconds(1), cap: Duration = .seconds(60)) {
        self.base = base
        self.cap = cap
    }

    /// The upper bound of the delay after `attempt` failures so far: `min(cap, base · 2^attempt)`.
    /// - Parameter attempt: 0 for the first retry, 1 for the second, and so on; negative values count as 0.
    public func ceiling(attempt: Int) -> Duration {
        let capNanos = max(cap.nanoseconds, 0)
        let baseNanos = max(base.nanoseconds, 0)
        let exponent = min(max(attempt, 0), 62)
        let (scaled, overflow) = baseNanos.multipliedReportingOverflow(by: Int64(1) << exponent)
        if overflow { return .nanoseconds(capNanos) }
        return .nanoseconds(min(scaled, capNanos))
    }

    /// A delay drawn with full jitter: `unit · ceiling(attempt)`.
    /// - Parameters:
    ///   - attempt: 0 for the first retry, 1 for the second, and so on.
    ///   - jitter: the source of randomness.
    public func delay(attempt: Int, jitter: Jitter) -> Duration {
        let ceiling = ceiling(attempt: attempt).nanoseconds
        return .nanoseconds(Int64((Double(ceiling) * jitter.unit()).rounded(.down)))
    }
}
