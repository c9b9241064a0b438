//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Prometheus

extension SlotgateMetrics {
    /// One metric family of `/metrics`: its name, Prometheus type and `# HELP` text. Every family is registered
    /// from here, so the help text is the same at every registration (the registry stops the process on a
    /// mismatch) and tests, docs and the shipped dashboard and alert rules can be checked against one list.
    public struct Family: Sendable, Hashable {
        /// The Prometheus type of a family.
        public enum Kind: String, Sendable, Hashable {
            /// Only goes up (`_total`).
            case counter
            /// Goes up and down.
            case gauge
            /// Buckets, `_sum` and `_count`.
            case histogram
        }

        /// The name, `slotgate_` and a unit suffix where there is a unit.
        public let name: String
        /// The type in the `# TYPE` line.
        public let kind: Kind
        /// The `# HELP` text.
        public let help: String
        /// The label names of its series; empty for one unlabelled series.
        public let labels: [String]
        /// Whether it is exposed in shared (fleet) mode only.
        public let sharedModeOnly: Bool

        init(_ name: String, _ kind: Kind, _ help: String, labels: [String] = [], sharedModeOnly: Bool = false) {
            self.name = name
            self.kind = kind
            self.help = help
            self.labels = labels
            self.sharedModeOnly = sharedModeOnly
        }

        /// The registry's descriptor: the whole name (no namespace or unit parts to join) and the help text.
        var descriptor: MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }
    }

    /// `slotgate_slots_limit`.
    public static let slotsLimit = Family(
        "slotgate_slots_limit",
        .gauge,
        "The session limit in force: the platform's, capped by slots.max; 0 before the first reading."
    )
    /// `slotgate_slots_in_use`.
    public static let slotsInUse = Family(
        "slotgate_slots_in_use",
        .gauge,
        "Slots in use: held by leases or counted by the platform for sessions no lease holds."
    )
    /// `slotgate_slots_free`.
    public static let slotsFree = Family(
        "slotgate_slots_free",
        .gauge,
        "Slots the gatekeeper may grant now: the limit less slots.reserve and the slots in use."
    )
    /// `slotgate_slots_held`.
    public static let slotsHeld = Family("slotgate_slots_held", .gauge, "Slots held by live leases (granted, bound or draining).")
    /// `slotgate_slots_external`.
    public static let slotsExternal = Family(
        "slotgate_slots_external",
        .gauge,
        "Sessions the platform counts that no lease holds (created outside the gate, or not yet seen ended)."
    )
    /// `slotgate_waiters`.
    public static let waiters = Family("slotgate_waiters", .gauge, "Requests waiting for a slot.")
    /// `slotgate_oldest_waiter_age_seconds`.
    public static let oldestWaiterAge = Family(
        "slotgate_oldest_waiter_age_seconds",
        .gauge,
        "How long the oldest waiting request has waited, in seconds; 0 when none waits."
    )
    /// `slotgate_grants_total`.
    public static let grants = Family("slotgate_grants_total", .counter, "Slots granted since the daemon started.")
    /// `slotgate_wait_seconds`.
    public static let waitTime = Family("slotgate_wait_seconds", .histogram, "How long granted requests waited for their slot, in seconds.")
    /// `slotgate_grants_paused`.
    public static let grantsPaused = Family(
        "slotgate_grants_paused",
        .gauge,
        "1 for the reason grants are paused (upstream_unavailable, token_budget, shutting_down), 0 for the others.",
        labels: ["reason"]
    )
    /// `slotgate_quota_age_seconds`.
    public static let quotaAge = Family(
        "slotgate_quota_age_seconds",
        .gauge,
        "Age of the newest platform quota reading, in seconds; -1 before the first reading."
    )
    /// `slotgate_upstream_requests_total`.
    public static let upstreamRequests = Family(
        "slotgate_upstream_requests_total",
        .counter,
        "Requests sent to the platform, by route and HTTP status (status 0: no answer).",
        labels: ["route", "status"]
    )
    /// `slotgate_upstream_429_total`.
    public static let upstream429 = Family(
        "slotgate_upstream_429_total",
        .counter,
        "Platform answers 429 (too many requests or sessions), any route."
    )
    /// `slotgate_ledger_write_errors_total`.
    public static let ledgerWriteErrors = Family(
        "slotgate_ledger_write_errors_total",
        .counter,
        "Failed writes to the lease ledger (state.dir full, read-only or failing); grants are refused while they fail."
    )
    /// `slotgate_fleet_decisions_total`.
    public static let fleetDecisions = Family(
        "slotgate_fleet_decisions_total",
        .counter,
        "Shared mode: decisions this host made as transactions on the fleet's database.",
        sharedModeOnly: true
    )
    /// `slotgate_fleet_db_statements_total`.
    public static let fleetStatements = Family(
        "slotgate_fleet_db_statements_total",
        .counter,
        "Shared mode: statements (database round trips) those decisions sent.",
        sharedModeOnly: true
    )

    /// Every family `/metrics` may expose, in the order the README lists them.
    public static let families: [Family] = [
        slotsLimit, slotsInUse, slotsFree, slotsHeld, slotsExternal, waiters, oldestWaiterAge, grants, waitTime, grantsPaused,
        quotaAge, upstreamRequests, upstream429, ledgerWriteErrors, fleetDecisions, fleetStatements,
    ]
}
