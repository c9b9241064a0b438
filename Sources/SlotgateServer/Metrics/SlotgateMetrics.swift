//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CoreMetrics
import Metrics
import Prometheus
import SlotgateCore

/// Every metric slotgate exports, named in one place (the Prometheus registry refuses one name with two types).
///
/// Counters and the wait-time histogram are updated as things happen; the slot and queue gauges are read from
/// the gatekeeper at each scrape, so they are never stale.
public struct SlotgateMetrics: Sendable {
    /// The registry `/metrics` exposes.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let grants: CoreMetrics.Counter
    private let waitTime: CoreMetrics.Timer
    private let upstream429: CoreMetrics.Counter
    private let slotsLimit: CoreMetrics.Gauge
    private let slotsInUse: CoreMetrics.Gauge
    private let slotsFree: CoreMetrics.Gauge
    private let slotsHeld: CoreMetrics.Gauge
    private let slotsExternal: CoreMetrics.Gauge
    private let waiters: CoreMetrics.Gauge
    private let quotaAge: CoreMetrics.Gauge
    private let paused: CoreMetrics.Gauge

    /// Creates the metrics in their own registry.
    /// - Parameter registry: the registry to expose.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500),
            .seconds(1), .seconds(5), .seconds(15), .seconds(60), .seconds(300), .seconds(1800),
        ]
        self.factory = factory
        grants = CoreMetrics.Counter(label: "slotgate_grants_total", factory: factory)
        waitTime = CoreMetrics.Timer(label: "slotgate_wait_seconds", factory: factory)
        upstream429 = CoreMetrics.Counter(label: "slotgate_upstream_429_total", factory: factory)
        slotsLimit = CoreMetrics.Gauge(label: "slotgate_slots_limit", factory: factory)
        slotsInUse = CoreMetrics.Gauge(label: "slotgate_slots_in_use", factory: factory)
        slotsFree = CoreMetrics.Gauge(label: "slotgate_slots_free", factory: factory)
        slotsHeld = CoreMetrics.Gauge(label: "slotgate_slots_held", factory: factory)
        slotsExternal = CoreMetrics.Gauge(label: "slotgate_slots_external", factory: factory)
        waiters = CoreMetrics.Gauge(label: "slotgate_waiters", factory: factory)
        quotaAge = CoreMetrics.Gauge(label: "slotgate_quota_age_seconds", factory: factory)
        paused = CoreMetrics.Gauge(label: "slotgate_grants_paused", factory: factory)
    }

    /// A slot was granted after `waited`.
    /// - Parameter waited: how long the request waited.
    public func granted(after waited: Duration?) {
        grants.increment()
        if let waited { waitTime.recordNanoseconds(waited.nanoseconds) }
    }

    /// The platform answered a request (or did not: status 0).
    /// - Parameters:
    ///   - route: the route, e.g. `GET /sessions/quota`.
    ///   - status: the HTTP status, or 0 for no answer.
    public func upstreamAnswered(route: String, status: Int) {
        CoreMetrics.Counter(label: "slotgate_upstream_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory)
            .increment()
        if status == 429 { upstream429.increment() }
    }

    /// Reads the gauges from the gatekeeper's status.
    /// - Parameter status: the status.
    public func update(from status: GatekeeperStatus) {
        slotsLimit.record(status.slots.limit)
        slotsInUse.record(status.slots.inUse)
        slotsFree.record(status.slots.free)
        slotsHeld.record(status.slots.heldByLeases)
        slotsExternal.record(status.slots.external)
        waiters.record(status.waiting)
        quotaAge.record(status.quotaAge?.seconds ?? -1)
        paused.record(status.pausedBy == nil ? 0 : 1)
    }

    /// The Prometheus text exposition.
    /// Shared mode: one decision's transaction and its statements (database round trips).
    /// - Parameter statements: the statements it sent.
    public func fleetDecision(statements: Int) {
        CoreMetrics.Counter(label: "slotgate_fleet_decisions_total", factory: factory).increment()
        CoreMetrics.Counter(label: "slotgate_fleet_db_statements_total", factory: factory).increment(by: statements)
    }

    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
