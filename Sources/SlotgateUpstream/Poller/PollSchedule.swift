//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// When the next poll and the next token read are due: the poller's decisions, without I/O.
///
/// A poll is due at its interval after the previous poll was sent, or at once when one was asked for
/// (`pollNow`), though no sooner than ``PollerSettings/minimumGap`` after the previous start. While polls
/// fail, the backoff decides and requests wait for it: asking again does not hammer a platform that is down.
/// Token reads run on their own schedule, at most once per ``PollerSettings/tokenInterval`` when they succeed.
struct PollSchedule: Sendable {
    /// The settings in force.
    var settings: PollerSettings
    /// When the next poll is due without a request.
    private(set) var nextPollAt: Timestamp
    /// When the next token read is due.
    private(set) var nextTokensAt: Timestamp
    /// Polls failed in a row.
    private(set) var pollFailures = 0
    /// Token reads failed in a row.
    private(set) var tokenFailures = 0
    /// When the last poll started, if any did.
    private(set) var lastPollStartedAt: Timestamp?
    /// Whether a poll was asked for since the last one started.
    private(set) var pollRequested = false
    /// The pace the last successful poll reported.
    private(set) var pace = PollingPace.fast

    /// A schedule whose first poll and first token read are due at `now`.
    init(now: Timestamp, settings: PollerSettings) {
        self.settings = settings
        self.nextPollAt = now
        self.nextTokensAt = now
    }

    /// A poll was asked for (`UpstreamWork.pollNow`).
    mutating func requestPoll() {
        pollRequested = true
    }

    /// When a requested poll may start: after the minimum gap, and never during a backoff.
    private var requestedPollAt: Timestamp? {
        guard pollRequested, pollFailures == 0 else { return nil }
        guard let lastPollStartedAt else { return nextPollAt }
        return min(nextPollAt, lastPollStartedAt.advanced(by: settings.minimumGap))
    }

    /// Whether a poll should start at `now`.
    func isPollDue(at now: Timestamp) -> Bool {
        if now >= nextPollAt { return true }
        if let requestedPollAt, now >= requestedPollAt { return true }
        return false
    }

    /// Whether a token read should start at `now`.
    func areTokensDue(at now: Timestamp) -> Bool {
        now >= nextTokensAt
    }

    /// The next time anything is due.
    var nextWake: Timestamp {
        var wake = min(nextPollAt, nextTokensAt)
        if let requestedPollAt { wake = min(wake, requestedPollAt) }
        return wake
    }

    /// A poll starts: requests made until now are answered by it.
    mutating func pollStarted(at now: Timestamp) {
        pollRequested = false
        lastPollStartedAt = now
    }

    /// The poll sent at `sentAt` succeeded; the next one is due one interval later.
    mutating func pollSucceeded(sentAt: Timestamp, pace: PollingPace) {
        pollFailures = 0
        self.pace = pace
        let interval = pace == .fast ? settings.fastInterval : settings.idleInterval
        nextPollAt = sentAt.advanced(by: interval)
    }

    /// The pace changed between polls: after a successful poll, the next one is due one interval of the new pace
    /// after the last one started (sooner when the pace became fast, later when it became idle).
    mutating func paceChanged(to pace: PollingPace) {
        self.pace = pace
        guard pollFailures == 0, let lastPollStartedAt else { return }
        nextPollAt = lastPollStartedAt.advanced(by: pace == .fast ? settings.fastInterval : settings.idleInterval)
    }

    /// The poll failed at `now`; the next one waits out the backoff (or `Retry-After`).
    mutating func pollFailed(at now: Timestamp, retryAfter: Duration?) {
        pollFailures += 1
        nextPollAt = now.advanced(by: settings.delay(afterFailures: pollFailures, retryAfter: retryAfter))
    }

    /// The token read sent at `sentAt` succeeded.
    mutating func tokensSucceeded(sentAt: Timestamp) {
        tokenFailures = 0
        nextTokensAt = sentAt.advanced(by: tokenInterval)
    }

    /// The token interval in force: while idle, at most one read per two idle polls, so an idle daemon makes
    /// fewer than four platform calls a minute.
    private var tokenInterval: Duration {
        pace == .idle ? max(settings.tokenInterval, settings.idleInterval * 4) : settings.tokenInterval
    }

    /// The token read failed at `now`: a transient failure retries with the backoff, a permanent one
    /// (say, a deployment without the endpoint) waits a whole token interval.
    mutating func tokensFailed(at now: Timestamp, retryAfter: Duration?, transient: Bool) {
        tokenFailures += 1
        if transient {
            nextTokensAt = now.advanced(by: settings.delay(afterFailures: tokenFailures, retryAfter: retryAfter))
        } else {
            nextTokensAt = now.advanced(by: tokenInterval)
        }
    }
}
