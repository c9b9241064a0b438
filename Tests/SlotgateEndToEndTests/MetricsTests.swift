//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import Testing

extension EndToEnd {
    /// `/metrics` as Prometheus users expect it (issue 14 item 5): every family with `# HELP` and `# TYPE`, served on
    /// the socket and on `metrics.listen`, a warning when that address is not loopback, and the shipped dashboard and
    /// alert rules naming only metrics the daemon exposes.
    @Suite("Metrics")
    struct Metrics {
        /// The files under `contrib/` that name slotgate's metrics.
        static let contribFiles = ["contrib/grafana/slotgate.json", "contrib/prometheus/slotgate-rules.yml"]

        /// Every `slotgate_…` name in the shipped dashboard and alert rules.
        static func contribMetricNames() throws -> [String: Set<String>] {
            var names: [String: Set<String>] = [:]
            for file in contribFiles {
                let text = try String(contentsOf: Paths.packageRoot.appendingPathComponent(file), encoding: .utf8)
                names[file] = Set(text.matches(of: /slotgate_[a-z0-9_]+/).map { String($0.output) })
            }
            return names
        }

        /// Scrapes `url` until it answers 200 (the TCP listener starts in the same group as the socket, a moment apart).
        static func scrape(_ url: String) async throws -> HTTPReply {
            var reply: HTTPReply?
            try await eventually("\(url) answers 200", timeout: .seconds(5)) {
                reply = try? await E2EHTTP.send(.GET, url: url, timeout: .seconds(5))
                return reply?.status == 200
            }
            guard let reply else { throw HarnessError("no answer from \(url)") }
            return reply
        }

        @Test("every family has HELP and TYPE, on the socket and on a loopback metrics.listen; contrib names only exposed metrics")
        func scrapedFamilies() async throws {
            let port = try unusedTCPPort()
            let listen = "127.0.0.1:\(port)"
            try await withStack(environment: ["SLOTGATE_METRICS_LISTEN": listen]) { _, daemon, _ in
                // Polls answered (the platform-call counter has series) and one grant (the wait histogram has one).
                try await daemon.waitForStatus("a platform reading") { ($0["upstream"] as? [String: Any])?["healthy"] as? Bool == true }
                let lease = try await daemon.grantedLease(holder: "metrics")
                let socketReply = try await daemon.get("/metrics")
                #expect(socketReply.status == 200)
                #expect(socketReply.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true, "\(socketReply)")
                let tcpReply = try await Self.scrape("http://\(listen)/metrics")
                for (source, reply) in [("the socket", socketReply), ("metrics.listen", tcpReply)] {
                    let exposition = Exposition(reply.text)
                    #expect(exposition.problems.isEmpty, "\(source): \(exposition.problems)")
                    #expect(exposition.types.count >= 14, "\(source) exposes \(exposition.types.keys.sorted())")
                    for name in exposition.types.keys.sorted() {
                        #expect(name.hasPrefix("slotgate_"), "\(source): \(name)")
                        #expect(exposition.help[name]?.isEmpty == false, "\(source): \(name) has no # HELP line")
                        if exposition.types[name] == "counter" { #expect(name.hasSuffix("_total"), "\(source): counter \(name)") }
                    }
                    #expect(Set(exposition.help.keys) == Set(exposition.types.keys), "\(source): HELP without TYPE or the reverse")
                }

                let exposition = Exposition(socketReply.text)
                for family in [
                    "slotgate_oldest_waiter_age_seconds", "slotgate_ledger_write_errors_total", "slotgate_grants_paused",
                    "slotgate_upstream_requests_total", "slotgate_upstream_429_total", "slotgate_wait_seconds",
                ] {
                    #expect(exposition.types[family] != nil, "\(family) is exposed")
                }
                #expect(socketReply.text.contains(#"slotgate_grants_paused{reason="upstream_unavailable"} 0"#), "\(socketReply.text)")
                #expect(socketReply.text.contains("slotgate_grants_total 1"), "\(socketReply.text)")
                #expect(socketReply.text.contains("slotgate_wait_seconds_count 1"), "\(socketReply.text)")

                let contrib = try Self.contribMetricNames()
                for (file, names) in contrib.sorted(by: { $0.key < $1.key }) {
                    #expect(names.count >= 8, "\(file) names \(names.sorted())")
                    let unknown = names.filter { !exposition.exposes($0) }.sorted()
                    #expect(unknown.isEmpty, "\(file) uses metrics the daemon does not expose: \(unknown)")
                }
                let stderr = daemon.child.stderr.tail(Int.max)
                #expect(!stderr.contains("is not a loopback address"), "no warning for \(listen)")
                #expect(try await daemon.release(lease["id"] as? String ?? "").status == 200)
            }
        }

        @Test("a metrics.listen that is not loopback is served, with a warning naming the key and the address")
        func nonLoopbackWarning() async throws {
            let port = try unusedTCPPort()
            let listen = "0.0.0.0:\(port)"
            try await withStack(environment: ["SLOTGATE_METRICS_LISTEN": listen]) { _, daemon, _ in
                let warning = try #require(
                    daemon.child.stderr.tail(Int.max).split(separator: "\n").first { $0.contains("is not a loopback address") },
                    "the warning: \(daemon.child.stderr.tail(40))"
                )
                #expect(warning.contains("metrics.listen") && warning.contains(listen), "\(warning)")
                #expect(warning.lowercased().contains("warning"), "logged at warning level: \(warning)")
                let reply = try await Self.scrape("http://127.0.0.1:\(port)/metrics")
                #expect(reply.text.contains("# HELP slotgate_slots_limit "), "\(reply.text)")
                let health = try await E2EHTTP.send(.GET, url: "http://127.0.0.1:\(port)/healthz", timeout: .seconds(5))
                #expect(health.status == 200, "\(health)")
                // Only the probes: no lease route over TCP.
                let leases = try await E2EHTTP.send(.GET, url: "http://127.0.0.1:\(port)/v1/leases", timeout: .seconds(5))
                #expect(leases.status == 404, "\(leases)")
            }
        }
    }
}
