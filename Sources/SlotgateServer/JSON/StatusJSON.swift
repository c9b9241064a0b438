//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// `GET /v1/status` (socket-api.md): every key present, nulls included.
public struct StatusJSON: Encodable, Sendable {
    /// The daemon's version.
    public var version: String
    /// Whether the socket listens and the store is loaded.
    public var ready: Bool
    /// This host's name.
    public var host: String
    /// `local` or `shared`.
    public var mode: String
    /// The gatekeeper's state.
    public var status: GatekeeperStatus
    /// The upstream and the last reload.
    public var facts: DaemonFacts.Snapshot

    /// Creates the status answer.
    /// - Parameters:
    ///   - version: the daemon's version.
    ///   - ready: whether the daemon is ready.
    ///   - host: this host's name.
    ///   - mode: `local` or `shared`.
    ///   - status: the gatekeeper's status.
    ///   - facts: the upstream and the last reload.
    public init(
        version: String,
        ready: Bool,
        host: String,
        mode: String,
        status: GatekeeperStatus,
        facts: DaemonFacts.Snapshot = DaemonFacts(upstreamURL: "", simulated: false).snapshot
    ) {
        self.version = version
        self.ready = ready
        self.host = host
        self.mode = mode
        self.status = status
        self.facts = facts
    }

    private enum Keys: String, CodingKey {
        case version, ready, host, mode, upstream, tokens, slots, queue, fleet, reload
        case pausedBy = "paused_by"
    }

    private enum ReloadKeys: String, CodingKey {
        case at, accepted, reason
        case pendingRestart = "pending_restart"
    }

    private enum UpstreamKeys: String, CodingKey {
        case healthy, scope, limit, active, available, url, simulated
        case ageMs = "age_ms"
        case lastError = "last_error"
        case sessionList = "session_list"
    }

    private enum TokenKeys: String, CodingKey {
        case limit, used, remaining
        case windowEnd = "window_end"
        case ageMs = "age_ms"
    }

    private enum SlotKeys: String, CodingKey {
        case limit, reserved, free, external
        case inUse = "in_use"
        case heldByLeases = "held_by_leases"
    }

    private enum FleetKeys: String, CodingKey {
        case poller, database, hosts
        case hostID = "host_id"
        case fallbackInUse = "fallback_in_use"
    }

    private enum HostKeys: String, CodingKey {
        case held, waiting
        case hostID = "host_id"
        case seenMsAgo = "seen_ms_ago"
    }

    private enum QueueKeys: String, CodingKey {
        case waiting, priorities
        case oldestWaitMs = "oldest_wait_ms"
    }

    private enum PriorityKeys: String, CodingKey {
        case priority, waiting
        case etaS = "eta_s"
        case lastEtaS = "last_eta_s"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(version, forKey: .version)
        try container.encode(ready, forKey: .ready)
        try container.encode(host, forKey: .host)
        try container.encode(mode, forKey: .mode)
        try container.encode(status.pausedBy?.rawValue, forKey: .pausedBy)

        var upstream = container.nestedContainer(keyedBy: UpstreamKeys.self, forKey: .upstream)
        try upstream.encode(facts.upstreamURL, forKey: .url)
        try upstream.encode(facts.simulated, forKey: .simulated)
        try upstream.encode(status.upstreamHealthy, forKey: .healthy)
        try upstream.encode(status.quota?.scope.rawValue, forKey: .scope)
        try upstream.encode(status.quota?.limit, forKey: .limit)
        try upstream.encode(status.quota?.active, forKey: .active)
        try upstream.encode(status.quota?.available, forKey: .available)
        try upstream.encode(status.quotaAge?.milliseconds, forKey: .ageMs)
        try upstream.encode(status.lastError, forKey: .lastError)
        try upstream.encode(status.sessionListRefused ? "refused" : "ok", forKey: .sessionList)

        if let tokens = status.tokens {
            var nested = container.nestedContainer(keyedBy: TokenKeys.self, forKey: .tokens)
            try nested.encode(tokens.limit, forKey: .limit)
            try nested.encode(tokens.used, forKey: .used)
            try nested.encode(tokens.remaining, forKey: .remaining)
            try nested.encode(tokens.windowEnd.map(ISO8601.format), forKey: .windowEnd)
            try nested.encode(status.tokensAge?.milliseconds, forKey: .ageMs)
        } else {
            try container.encodeNil(forKey: .tokens)
        }

        var slots = container.nestedContainer(keyedBy: SlotKeys.self, forKey: .slots)
        try slots.encode(status.slots.limit, forKey: .limit)
        try slots.encode(status.slots.reserved, forKey: .reserved)
        try slots.encode(status.slots.inUse, forKey: .inUse)
        try slots.encode(status.slots.free, forKey: .free)
        try slots.encode(status.slots.heldByLeases, forKey: .heldByLeases)
        try slots.encode(status.slots.external, forKey: .external)

        var reload = container.nestedContainer(keyedBy: ReloadKeys.self, forKey: .reload)
        try reload.encode(facts.lastReload.map { ISO8601.format($0.at) }, forKey: .at)
        try reload.encode(facts.lastReload?.accepted, forKey: .accepted)
        try reload.encode(facts.lastReload?.reason, forKey: .reason)
        try reload.encode(facts.pendingRestart, forKey: .pendingRestart)

        var queue = container.nestedContainer(keyedBy: QueueKeys.self, forKey: .queue)
        try queue.encode(status.waiting, forKey: .waiting)
        try queue.encode(status.oldestWait.milliseconds, forKey: .oldestWaitMs)
        var levels = queue.nestedUnkeyedContainer(forKey: .priorities)
        for level in status.priorities {
            var entry = levels.nestedContainer(keyedBy: PriorityKeys.self)
            try entry.encode(level.priority, forKey: .priority)
            try entry.encode(level.waiting, forKey: .waiting)
            try entry.encode(LeaseJSON.etaSeconds(level.nextETA), forKey: .etaS)
            try entry.encode(LeaseJSON.etaSeconds(level.lastETA), forKey: .lastEtaS)
        }

        if let fleet = status.fleet {
            var nested = container.nestedContainer(keyedBy: FleetKeys.self, forKey: .fleet)
            try nested.encode(fleet.hostID, forKey: .hostID)
            try nested.encode(fleet.poller, forKey: .poller)
            try nested.encode(fleet.databaseReachable ? "ok" : "unreachable", forKey: .database)
            try nested.encode(fleet.fallbackInUse, forKey: .fallbackInUse)
            var hosts = nested.nestedUnkeyedContainer(forKey: .hosts)
            for host in fleet.hosts {
                var entry = hosts.nestedContainer(keyedBy: HostKeys.self)
                try entry.encode(host.hostID, forKey: .hostID)
                try entry.encode(host.held, forKey: .held)
                try entry.encode(host.waiting, forKey: .waiting)
                try entry.encode(host.seenAgo.milliseconds, forKey: .seenMsAgo)
            }
        }
    }
}
