//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Prometheus
import SlotgateCore

/// Every metric slotgate exports, registered from one list (``families``) with its `# HELP` text.
///
/// Counters and the wait-time histogram are updated as things happen; the slot, queue and pause gauges are read
/// from the gatekeeper at each scrape, so they are never stale. Families with labels that depend on traffic
/// (`slotgate_upstream_requests_total`) appear with their first series; every other family is exposed from the
/// start, so an alert on it has a series to look at.
public struct SlotgateMetrics: Sendable {
    /// The registry `/metrics` exposes.
    public let registry: PrometheusCollectorRegistry
    private let grants: Prometheus.Counter
    private let waitTime: DurationHistogram
    private let upstream429: Prometheus.Counter
    private let ledgerWriteErrors: Prometheus.Counter
    private let slotsLimit: Gauge
    private let slotsInUse: Gauge
    private let slotsFree: Gauge
    private let slotsHeld: Gauge
    private let slotsExternal: Gauge
    private let waiters: Gauge
    private let oldestWaiterAge: Gauge
    private let quotaAge: Gauge
    private let paused: [PauseReason: Gauge]
    private let fleet: (decisions: Prometheus.Counter, statements: Prometheus.Counter)?

    /// The wait-time histogram's buckets, from 1 ms to 30 min.
    static let waitBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500),
        .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(1800),
    ]

    /// Creates the metrics in their own registry.
    /// - Parameters:
    ///   - registry: the registry to expose.
    ///   - sharedMode: whether the daemon runs in shared (fleet) mode, which adds the `slotgate_fleet_*` families.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), sharedMode: Bool = false) {
        self.registry = registry
        func counter(_ family: Family) -> Prometheus.Counter { registry.makeCounter(descriptor: family.descriptor) }
        func gauge(_ family: Family) -> Gauge { registry.makeGauge(descriptor: family.descriptor) }
        slotsLimit = gauge(Self.slotsLimit)
        slotsInUse = gauge(Self.slotsInUse)
        slotsFree = gauge(Self.slotsFree)
        slotsHeld = gauge(Self.slotsHeld)
        slotsExternal = gauge(Self.slotsExternal)
        waiters = gauge(Self.waiters)
        oldestWaiterAge = gauge(Self.oldestWaiterAge)
        grants = counter(Self.grants)
        waitTime = registry.makeDurationHistogram(descriptor: Self.waitTime.descriptor, buckets: Self.waitBuckets)
        var paused: [PauseReason: Gauge] = [:]
        for reason in PauseReason.allCases {
            paused[reason] = registry.makeGauge(descriptor: Self.grantsPaused.descriptor, labels: [("reason", reason.rawValue)])
        }
        self.paused = paused
        quotaAge = gauge(Self.quotaAge)
        quotaAge.set(Double(-1))
        upstream429 = counter(Self.upstream429)
        ledgerWriteErrors = counter(Self.ledgerWriteErrors)
        fleet = sharedMode ? (counter(Self.fleetDecisions), counter(Self.fleetStatements)) : nil
    }

    /// A slot was granted after `waited`.
    /// - Parameter waited: how long the request waited.
    public func granted(after waited: Duration?) {
        grants.increment()
        if let waited { waitTime.record(waited) }
    }

    /// The platform answered a request (or did not: status 0).
    /// - Parameters:
    ///   - route: the route, e.g. `GET /sessions/quota`.
    ///   - status: the HTTP status, or 0 for no answer.
    public func upstreamAnswered(route: String, status: Int) {
        registry.makeCounter(descriptor: Self.upstreamRequests.descriptor, labels: [("route", route), ("status", String(status))])
            .increment()
        if status == 429 { upstream429.increment() }
    }

    /// A write to the lease ledger failed.
    public func ledgerWriteFailed() {
        ledgerWriteErrors.increment()
    }

    /// Reads the gauges from the gatekeeper's status.
    /// - Parameter status: the status.
    public func update(from status: GatekeeperStatus) {
        slotsLimit.set(Int64(status.slots.limit))
        slotsInUse.set(Int64(status.slots.inUse))
        slotsFree.set(Int64(status.slots.free))
        slotsHeld.set(Int64(status.slots.heldByLeases))
        slotsExternal.set(Int64(status.slots.external))
        waiters.set(Int64(status.waiting))
        let oldestWait: Double = status.oldestWait.seconds
        oldestWaiterAge.set(oldestWait)
        quotaAge.set(status.quotaAge?.seconds ?? -1)
        for (reason, gauge) in paused { gauge.set(Int64(status.pausedBy == reason ? 1 : 0)) }
    }

    /// Shared mode: one decision's transaction and its statements (database round trips).
    /// - Parameter statements: the statements it sent.
    public func fleetDecision(statements: Int) {
        guard let fleet else { return }
        fleet.decisions.increment()
        fleet.statements.increment(by: Int64(statements))
    }

    /// The Prometheus text exposition.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
