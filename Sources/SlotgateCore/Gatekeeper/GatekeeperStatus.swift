//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What `/v1/status` reports, read from the state machine at one instant.
public struct GatekeeperStatus: Sendable, Hashable {
    /// The newest platform reading, if any.
    public var quota: QuotaReading?
    /// Age of the newest reading (from when its first request was sent).
    public var quotaAge: Duration?
    /// Whether the newest reading is fresh and the last poll succeeded.
    public var upstreamHealthy: Bool
    /// The last poll failure, if the newest poll failed.
    public var lastError: String?
    /// The newest token reading.
    public var tokens: TokenReading?
    /// Age of the newest token reading.
    public var tokensAge: Duration?
    /// Why grants are paused, if they are.
    public var pausedBy: PauseReason?
    /// The slot count.
    public var slots: SlotCount
    /// Waiting requests.
    public var waiting: Int
    /// How long the oldest waiter has waited.
    public var oldestWait: Duration
    /// Grants since start.
    public var grantsTotal: Int
    /// Creates refused with 429 anyway since start.
    public var rejected429Total: Int
    /// The polling pace in force.
    public var pace: PollingPace

    /// Reads the status.
    /// - Parameters:
    ///   - machine: the state machine.
    ///   - now: the current time.
    public init(machine: GatekeeperStateMachine, now: Timestamp) {
        let snapshot = machine.snapshot
        quota = snapshot?.quota
        quotaAge = snapshot.map { $0.sentAt.duration(to: now) }
        pausedBy = machine.pause(at: now)
        upstreamHealthy = snapshot != nil && machine.lastPollFailure == nil && (quotaAge ?? .zero) <= machine.settings.maxStaleness
        lastError = machine.lastPollFailure
        tokens = machine.tokens
        tokensAge = machine.tokens.map { $0.sentAt.duration(to: now) }
        slots = machine.count(at: now)
        waiting = machine.waitingCount
        oldestWait = machine.oldestWaiterRequest.map { $0.duration(to: now) } ?? .zero
        grantsTotal = machine.grantsTotal
        rejected429Total = machine.rejected429Total
        pace = machine.pollingPace
    }
}
