//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Synchronization

/// What the daemon talks to and how its last reload went, for `/v1/status`: an operator must see at a glance
/// that the daemon runs on the simulator, and which changed keys wait for a restart.
public final class DaemonFacts: Sendable {
    /// The last reload (SIGHUP).
    public struct Reload: Sendable, Hashable {
        /// When it happened.
        public var at: Timestamp
        /// Whether the new settings were taken.
        public var accepted: Bool
        /// Why it was refused; nil when accepted.
        public var reason: String?
    }

    /// A copy of the facts.
    public struct Snapshot: Sendable, Hashable {
        /// The platform's base URL (credentials redacted), or the built-in simulator's.
        public var upstreamURL: String
        /// Whether the upstream is the built-in simulator (`upstream.simulate`): sessions are not real.
        public var simulated: Bool
        /// The last reload, or nil when there was none.
        public var lastReload: Reload?
        /// Keys changed in the configuration whose new value waits for a restart.
        public var pendingRestart: [String]
    }

    private let state: Mutex<Snapshot>

    /// Creates the facts.
    /// - Parameters:
    ///   - upstreamURL: the platform's base URL, credentials redacted.
    ///   - simulated: whether it is the built-in simulator.
    public init(upstreamURL: String, simulated: Bool) {
        state = Mutex(Snapshot(upstreamURL: upstreamURL, simulated: simulated, lastReload: nil, pendingRestart: []))
    }

    /// The facts now.
    public var snapshot: Snapshot { state.withLock { $0 } }

    /// Records a reload.
    /// - Parameters:
    ///   - at: when.
    ///   - refusal: why it was refused, or nil when it was accepted.
    ///   - pendingRestart: after an accepted reload, the changed keys that wait for a restart (a refused reload
    ///     leaves the list as it was).
    public func reloaded(at: Timestamp, refusal: String?, pendingRestart: [String]) {
        state.withLock { facts in
            facts.lastReload = Reload(at: at, accepted: refusal == nil, reason: refusal)
            if refusal == nil { facts.pendingRestart = pendingRestart }
        }
    }
}
