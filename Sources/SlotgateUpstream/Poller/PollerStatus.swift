//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// What the poller knows about its own health, for `slotgate status` and metrics.
public struct PollerStatus: Sendable, Hashable {
    /// When the last successful poll was sent, if any succeeded.
    public var lastGoodReadingAt: Timestamp?
    /// The quota reading of the last successful poll.
    public var lastQuota: QuotaReading?
    /// Polls failed in a row since the last success.
    public var consecutiveFailures: Int
    /// Why the last poll failed, while polls fail; no secret is in it.
    public var lastFailure: String?
    /// Polls started since the poller started.
    public var polls: Int

    /// Creates a status.
    /// - Parameters:
    ///   - lastGoodReadingAt: when the last successful poll was sent.
    ///   - lastQuota: the quota reading of the last successful poll.
    ///   - consecutiveFailures: polls failed in a row.
    ///   - lastFailure: why the last poll failed.
    ///   - polls: polls started so far.
    public init(
        lastGoodReadingAt: Timestamp? = nil,
        lastQuota: QuotaReading? = nil,
        consecutiveFailures: Int = 0,
        lastFailure: String? = nil,
        polls: Int = 0
    ) {
        self.lastGoodReadingAt = lastGoodReadingAt
        self.lastQuota = lastQuota
        self.consecutiveFailures = consecutiveFailures
        self.lastFailure = lastFailure
        self.polls = polls
    }
}
