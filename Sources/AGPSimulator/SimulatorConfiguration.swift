//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How a ``SimulatedPlatform`` behaves: its limit, its lifecycle timings and the switches for the
/// points the platform documentation leaves open (agp-api.md §12).
///
/// ```swift
/// var configuration = SimulatorConfiguration()
/// configuration.limit = 2
/// configuration.queueAtLimit = true
/// let platform = SimulatedPlatform(configuration: configuration)
/// ```
public struct SimulatorConfiguration: Sendable {
    /// Maximum number of concurrent sessions (`limit` in `/sessions/quota`).
    public var limit: Int = 3
    /// The quota scope reported by `/sessions/quota`: `"org"` counts every session of the organization,
    /// `"user"` only the calling key's own sessions.
    public var scope: String = "org"
    /// Accepted Bearer keys; each key acts as its own user of one organization. An empty set turns auth off.
    public var apiKeys: Set<String> = ["hk-sim-key"]
    /// At the limit with `queue` absent or true: `false` answers 429 (hub docs), `true` answers 201 `queued` (OAS).
    public var queueAtLimit: Bool = false
    /// Whether `queued` sessions count in `active` and against the limit (U2).
    public var queuedCountsAsActive: Bool = false
    /// How long a new session stays `pending` before it is `running`.
    public var pendingDuration: Duration = .milliseconds(100)
    /// How long a session runs before it ends, drawn uniformly per session; `nil` runs until ended through the
    /// control API (or cancelled).
    public var runDuration: ClosedRange<Duration>? = .milliseconds(300)...(.milliseconds(600))
    /// The terminal statuses a run ends in, picked at random (seeded) when the run ends.
    public var endStatuses: [String] = ["completed"]
    /// A new session shows in `active` and in the list only after this delay (U3).
    public var activeLag: Duration = .zero
    /// Rejects unknown top-level create fields with 422.
    public var strictBodies: Bool = false
    /// `limit` of `/quota/tokens`; `nil` means unlimited.
    public var tokenLimit: Int? = 15_000_000
    /// `used` of `/quota/tokens`; `nil` means briefly unknown.
    public var tokenUsed: Int? = 0
    /// Tokens a session consumes per second from its start to its end, added to `used` of `/quota/tokens`;
    /// 0 leaves `used` where `tokenUsed` (or the control API) put it.
    public var tokensPerSecond: Int = 0
    /// Sends `remaining` as null even when `limit` and `used` are known (U11).
    public var tokenRemainingNull: Bool = false
    /// `window_start` and `window_end` of `/quota/tokens`: by default the calendar month around the simulator's
    /// clock, so the window is open on any date.
    public var tokenWindow: TokenWindow = .currentMonth()
    /// Seed of the generator behind ids, run lengths and end statuses.
    public var seed: UInt64 = 1

    /// Creates the default configuration: limit 3, org scope, one key `hk-sim-key`, 429 at the limit.
    public init() {}
}
