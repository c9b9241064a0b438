//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateClient

/// The readable form of `GET /v1/status`: one titled line per part.
struct StatusView {
    var status: SlotgateClient.Status
    var style: Terminal.Style

    func render() -> String {
        var rows: [(String, String)] = []
        let readiness = status.ready ? style.green("ready") : style.yellow("starting")
        let header = "slotgated \(status.version) on \(status.host.isEmpty ? "?" : status.host) · \(status.mode) · \(readiness)"

        if let slots = status.slots {
            var parts = ["\(style.bold("\(slots.inUse)/\(slots.limit)")) in use", "\(slots.free) free", "\(slots.heldByLeases) held by leases"]
            parts.append("\(slots.external) external")
            if slots.reserved > 0 { parts.append("\(slots.reserved) reserved") }
            rows.append(("slots", parts.joined(separator: " · ")))
        }
        if let pausedBy = status.pausedBy {
            rows.append(("grants", style.red("paused: \(pausedBy)")))
        } else {
            rows.append(("grants", style.green("open")))
        }
        if let upstream = status.upstream {
            if upstream.simulated {
                rows.append(("platform", style.yellow("SIMULATOR — sessions are not real") + " (upstream.simulate)"))
            } else if let url = upstream.url, !url.isEmpty {
                rows.append(("platform", url))
            }
            rows.append(("upstream", upstreamLine(upstream)))
        }
        if let tokens = status.tokens {
            rows.append(("tokens", tokensLine(tokens)))
        } else {
            rows.append(("tokens", "not read yet"))
        }
        if let queue = status.queue {
            let oldest = queue.waiting > 0 ? " · oldest \(Format.milliseconds(queue.oldestWaitMs))" : ""
            rows.append(("queue", "\(queue.waiting) waiting\(oldest)"))
            for level in queue.priorities {
                rows.append(("  priority \(level.priority)", priorityLine(level)))
            }
        }
        if let fleet = status.fleet {
            rows += fleetRows(fleet)
        }
        if let reload = status.reload, let line = reloadLine(reload) {
            rows.append(("config", line))
        }
        let width = rows.map(\.0.count).max() ?? 0
        let lines = rows.map { title, value in
            title + String(repeating: " ", count: width - title.count) + "  " + value
        }
        return ([header] + lines).joined(separator: "\n")
    }

    /// One priority's waiters with the estimated waits of its first and last (estimates; "no estimate yet" before
    /// any lease has ended).
    private func priorityLine(_ level: SlotgateClient.Status.Queue.Priority) -> String {
        var parts = ["\(level.waiting) waiting"]
        if let next = Format.estimate(level.etaSeconds) {
            parts.append("next \(next)")
            if level.waiting > 1, let last = Format.estimate(level.lastEtaSeconds) { parts.append("last \(last)") }
        } else {
            parts.append(style.dim("no estimate yet"))
        }
        return parts.joined(separator: " · ")
    }

    /// Shared mode: the fleet's totals are the slots and queue rows above; here the database, the poller and
    /// each host's holdings.
    private func fleetRows(_ fleet: SlotgateClient.Status.Fleet) -> [(String, String)] {
        var rows: [(String, String)] = []
        var parts = [fleet.database == "ok" ? style.green("database ok") : style.red("database \(fleet.database)")]
        parts.append("poller \(fleet.poller ?? "none")")
        if fleet.database != "ok" || fleet.fallbackInUse > 0 { parts.append(style.yellow("fallback in use \(fleet.fallbackInUse)")) }
        rows.append(("fleet", parts.joined(separator: " · ")))
        for host in fleet.hosts {
            let me = host.hostID == fleet.hostID ? " (this host)" : ""
            let stale = host.seenMsAgo > 5000 ? style.red(" · seen \(Format.milliseconds(host.seenMsAgo)) ago") : ""
            rows.append(("  " + host.hostID, "\(host.held) held · \(host.waiting) waiting\(stale)\(me)"))
        }
        return rows
    }

    private func upstreamLine(_ upstream: SlotgateClient.Status.Upstream) -> String {
        var parts = [upstream.healthy ? style.green("healthy") : style.red("unhealthy")]
        if let limit = upstream.limit {
            parts.append("\(upstream.scope ?? "?") limit \(limit)")
        }
        if let active = upstream.active { parts.append("\(active) active") }
        if let available = upstream.available { parts.append("\(available) available") }
        if let age = upstream.ageMs {
            parts.append("quota \(Format.milliseconds(age)) old")
        } else {
            parts.append("no quota reading yet")
        }
        if let error = upstream.lastError { parts.append(style.red("last error: \(error)")) }
        return parts.joined(separator: " · ")
    }

    /// The last reload and the keys waiting for a restart; nil when there is nothing to say.
    private func reloadLine(_ reload: SlotgateClient.Status.Reload) -> String? {
        var parts: [String] = []
        if let at = reload.at {
            if reload.accepted == true {
                parts.append("reloaded \(at)")
            } else {
                parts.append(style.red("reload refused \(at): \(reload.reason ?? "?") (running settings kept)"))
            }
        }
        if !reload.pendingRestart.isEmpty {
            parts.append(style.yellow("restart to apply: \(reload.pendingRestart.joined(separator: ", "))"))
        }
        return parts.isEmpty ? nil : parts.joined(separator: " · ")
    }

    private func tokensLine(_ tokens: SlotgateClient.Status.Tokens) -> String {
        var parts: [String] = []
        switch (tokens.used, tokens.limit) {
        case (let used?, let limit?): parts.append("\(Format.count(used)) of \(Format.count(limit)) used")
        case (let used?, nil): parts.append("\(Format.count(used)) used")
        case (nil, let limit?): parts.append("limit \(Format.count(limit))")
        case (nil, nil): break
        }
        if let remaining = tokens.remaining { parts.append("\(Format.count(remaining)) left") }
        if let end = tokens.windowEnd { parts.append("window ends \(end)") }
        if let age = tokens.ageMs { parts.append("read \(Format.milliseconds(age)) ago") }
        return parts.isEmpty ? "no figures" : parts.joined(separator: " · ")
    }
}
