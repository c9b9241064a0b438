//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateCore
import SlotgateServer
import Testing

/// The exposition against the one list of families (``SlotgateMetrics/families``): names, types, help, modes, docs.
@Suite struct SlotgateMetricsTests {
    static func text(_ metrics: SlotgateMetrics) -> String {
        String(decoding: metrics.exposition(), as: UTF8.self)
    }

    @Test("local mode exposes every family but the fleet's and the per-route one from the start, each with its HELP and TYPE")
    func localFamilies() {
        let text = Self.text(SlotgateMetrics())
        for family in SlotgateMetrics.families {
            let exposed = !family.sharedModeOnly && family.name != SlotgateMetrics.upstreamRequests.name
            #expect(text.contains("# TYPE \(family.name) \(family.kind.rawValue)\n") == exposed, "\(family.name)")
            #expect(text.contains("# HELP \(family.name) \(family.help)\n") == exposed, "\(family.name)")
        }
        #expect(text.contains("slotgate_quota_age_seconds -1"), "no reading yet: \(text)")
        for reason in PauseReason.allCases {
            #expect(text.contains(#"slotgate_grants_paused{reason="\#(reason.rawValue)"} 0"#), "\(reason)")
        }
    }

    @Test("names follow Prometheus conventions: slotgate_ prefix, counters end in _total, durations in _seconds")
    func names() {
        #expect(Set(SlotgateMetrics.families.map(\.name)).count == SlotgateMetrics.families.count)
        for family in SlotgateMetrics.families {
            #expect(family.name.hasPrefix("slotgate_"))
            #expect(family.name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }, "\(family.name)")
            #expect((family.kind == .counter) == family.name.hasSuffix("_total"), "\(family.name)")
            if family.help.contains("seconds") || family.kind == .histogram { #expect(family.name.hasSuffix("_seconds"), "\(family.name)") }
            #expect(!family.help.isEmpty && !family.help.contains("\n"))
        }
    }

    @Test("an answered platform call adds its series with the family's HELP; shared mode adds the fleet's families")
    func lazyAndSharedFamilies() {
        let metrics = SlotgateMetrics(sharedMode: true)
        metrics.upstreamAnswered(route: "GET /sessions/quota", status: 200)
        metrics.upstreamAnswered(route: "POST /sessions", status: 429)
        metrics.fleetDecision(statements: 3)
        let text = Self.text(metrics)
        #expect(text.contains("# HELP slotgate_upstream_requests_total \(SlotgateMetrics.upstreamRequests.help)\n"))
        #expect(text.contains(#"slotgate_upstream_requests_total{route="POST /sessions",status="429"} 1"#), "\(text)")
        #expect(text.contains("slotgate_upstream_429_total 1"))
        #expect(text.contains("slotgate_fleet_decisions_total 1") && text.contains("slotgate_fleet_db_statements_total 3"), "\(text)")
        for family in SlotgateMetrics.families {
            #expect(text.contains("# TYPE \(family.name) \(family.kind.rawValue)\n"), "\(family.name)")
        }
    }

    @Test("the gauges follow the status: the pause's reason, the oldest waiter, the quota's age")
    func gaugesFromStatus() async {
        let gatekeeper = Gatekeeper(settings: GatekeeperSettings(), host: "metrics-test", logger: Logger(label: "test"))
        let metrics = SlotgateMetrics()
        metrics.ledgerWriteFailed()
        metrics.update(from: await gatekeeper.status())
        var text = Self.text(metrics)
        #expect(text.contains(#"slotgate_grants_paused{reason="upstream_unavailable"} 1"#), "no reading: paused. \(text)")
        #expect(text.contains(#"slotgate_grants_paused{reason="token_budget"} 0"#))
        #expect(text.contains("slotgate_ledger_write_errors_total 1"))
        #expect(text.contains("slotgate_oldest_waiter_age_seconds 0"))
        await gatekeeper.observe(
            PlatformSnapshot(sentAt: WallClock().now, quota: QuotaReading(scope: .org, limit: 3, active: 1), sessions: [])
        )
        metrics.update(from: await gatekeeper.status())
        text = Self.text(metrics)
        #expect(text.contains(#"slotgate_grants_paused{reason="upstream_unavailable"} 0"#), "\(text)")
        #expect(text.contains("slotgate_slots_limit 3"), "\(text)")
        #expect(!text.contains("slotgate_quota_age_seconds -1"), "\(text)")
        await gatekeeper.shutdown()
    }

    @Test("the README and docs/api.md name every family")
    func documented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for file in ["README.md", "docs/api.md"] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for family in SlotgateMetrics.families {
                #expect(text.contains("`\(family.name)`"), "\(file) does not name \(family.name)")
            }
        }
    }
}
