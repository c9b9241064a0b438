//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How often the poller should read the platform (design.md "Polling").
public enum PollingPace: Sendable, Hashable {
    /// Someone waits, or a lease is unbound or draining: `upstream.poll_interval_s`.
    case fast
    /// Nothing to watch closely: `upstream.idle_poll_interval_s`.
    case idle
}

/// Work the gatekeeper asks of the upstream side, delivered through `Gatekeeper.upstreamWork`.
public enum UpstreamWork: Sendable, Hashable {
    /// Read the quota and the session list now (requests coalesce: one poll in flight at most).
    case pollNow
    /// Read one tracked session's status (`GET /sessions/{id}/status`) to confirm that it ended.
    case confirmSession(String)
    /// Cancel a session on the platform (`DELETE /sessions/{id}`), then confirm its status.
    case cancelSession(String)
    /// The pace changed (someone started waiting, or the last unbound lease went): the next poll is due one
    /// interval of the new pace after the last.
    case paceChanged
}

/// What the poller reports to the gatekeeper.
///
/// The gatekeeper implements this; the poller calls it after each platform answer.
public protocol PlatformObserver: Sendable {
    /// The pace the poller should keep now.
    func pollingPace() async -> PollingPace
    /// Whether the next poll needs the list of non-terminal sessions besides the quota: only while sessions are
    /// tracked (bound or draining leases) or requests wait. An idle daemon reads the quota alone.
    func needsSessionList() async -> Bool
    /// Tracked sessions, least recently seen first, for status reads while the platform refuses the list.
    /// - Parameter limit: how many at most.
    func sessionsToRead(limit: Int) async -> [String]
    /// A successful poll: quota plus the list of non-terminal sessions.
    /// - Parameter snapshot: the reading, with the time its first request was sent.
    func observe(_ snapshot: PlatformSnapshot) async
    /// A successful read of the token allowance.
    /// - Parameter reading: the reading.
    func observeTokens(_ reading: TokenReading) async
    /// A poll that failed after its retries; grants keep using the last reading until it is too old.
    /// - Parameters:
    ///   - reason: one human sentence, with no secret in it.
    ///   - at: when the poll failed.
    func observePollFailure(_ reason: String, at: Timestamp) async
    /// A session's status as `GET /sessions/{id}/status` reported it; nil status means 404 (gone).
    /// - Parameters:
    ///   - id: the session id.
    ///   - status: the status, or nil when the platform does not know the session.
    ///   - at: when the request was sent.
    func observeSession(_ id: String, status: SessionStatus?, at: Timestamp) async
}

extension PlatformObserver {
    /// By default every poll lists the sessions.
    public func needsSessionList() async -> Bool { true }
    /// By default no session is tracked.
    public func sessionsToRead(limit: Int) async -> [String] { [] }
}
