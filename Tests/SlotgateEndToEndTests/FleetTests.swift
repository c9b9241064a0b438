//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import SlotgateTesting
import Testing

/// Runs `body` against three slotgated processes sharing one PostgreSQL (a cluster of the test's own on
/// loopback) and one simulator, then stops them all and checks that no daemon leaked the key.
func withFleet<T: Sendable>(
    hosts: Int = 3,
    simulator options: SimulatorOptions,
    shares: [Int] = [],
    _ body: (Simulator, [DaemonProcess], PostgresServer) async throws -> T
) async throws -> T {
    let postgres = try await PostgresServer.start()
    defer { postgres.destroy() }
    let simulator = try await Simulator.start(options)
    var daemons: [DaemonProcess] = []
    var directories: [TemporaryDirectory] = []
    defer { for directory in directories { directory.remove() } }
    let result: Result<T, any Error>
    do {
        for index in 0..<hosts {
            let directory = try TemporaryDirectory()
            directories.append(directory)
            let environment = [
                "SLOTGATE_SHARED_POSTGRES_URL": postgres.url,
                "SLOTGATE_SHARED_HOST_ID": "host-\(index)",
                "SLOTGATE_SHARED_FALLBACK_SHARE": String(index < shares.count ? shares[index] : 0),
            ]
            daemons.append(try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL, environment: environment))
        }
        result = .success(try await body(simulator, daemons, postgres))
    } catch {
        result = .failure(error)
        for (index, daemon) in daemons.enumerated() {
            print("slotgated host-\(index) stderr (last 40 lines):\n\(daemon.child.stderr.tail(40))")
        }
    }
    for daemon in daemons {
        await daemon.stop()
        keepLogs(daemon, simulator)
        expectNoKeyLeak(daemon)
    }
    await simulator.stop()
    return try result.get()
}

extension EndToEnd {
    /// Shared mode (issue 6): several hosts, one organization limit, coordinated through PostgreSQL.
    @Suite("Fleet mode over PostgreSQL")
    struct Fleet {
        static let simulator = SimulatorOptions(limit: 4, runMilliseconds: "100-250", pendingMilliseconds: 30)

        @Test("three hosts, 90 clients in lease and proxy mode: every session created, none refused, never more than 4")
        func ninetyClients() async throws {
            try await withFleet(simulator: Self.simulator) { simulator, daemons, _ in
                try await Self.run(clients: 90, on: daemons, simulator)
                let stats = try await simulator.stats()
                #expect(stats.createsRefused == 0, "the platform refused creates: \(stats.refused)")
                #expect(stats.peakNonTerminal <= 4)
                #expect(stats.createsAccepted == 90)
                let status = try #require(try await daemons[0].get("/v1/status").json)
                #expect(status["mode"] as? String == "shared")
                let fleet = try #require(status["fleet"] as? [String: Any])
                #expect(fleet["database"] as? String == "ok")
                #expect((fleet["hosts"] as? [[String: Any]])?.count == 3)
                let poller = try #require(fleet["poller"] as? String)
                #expect(poller.hasPrefix("host-"))
                // The whole fleet polls like one daemon: quota reads come from one host at a time.
                let leases = try #require(try await daemons[1].get("/v1/leases").json?["leases"] as? [[String: Any]])
                #expect(leases.allSatisfy { ($0["host"] as? String)?.hasPrefix("host-") == true })
                // Shared mode adds the fleet's families, each with HELP and TYPE like every other.
                let metrics = Exposition(try await daemons[1].get("/metrics").text)
                #expect(metrics.problems.isEmpty, "\(metrics.problems)")
                #expect(Set(metrics.help.keys) == Set(metrics.types.keys))
                for family in ["slotgate_fleet_decisions_total", "slotgate_fleet_db_statements_total"] {
                    #expect(metrics.types[family] == "counter" && metrics.help[family]?.isEmpty == false, "\(family)")
                }
            }
        }

        @Test("SIGKILL of the polling host: another takes over, still none refused")
        func pollerTakeover() async throws {
            try await withFleet(simulator: Self.simulator) { simulator, daemons, _ in
                try await eventually("a host polls", timeout: .seconds(10), interval: .milliseconds(100)) {
                    try await Self.poller(of: daemons[0]) != nil
                }
                let first = try #require(try await Self.poller(of: daemons[0]))
                let index = try #require(Int(first.dropFirst("host-".count)))
                daemons[index].child.signal(SIGKILL)
                _ = await daemons[index].child.waitForExit(timeout: .seconds(5))
                let survivors = daemons.enumerated().filter { $0.offset != index }.map(\.element)
                let started = ContinuousClock.now
                try await eventually("another host polls", timeout: .seconds(10), interval: .milliseconds(100)) {
                    guard let next = try await Self.poller(of: survivors[0]) else { return false }
                    return next != first
                }
                let takeover = ContinuousClock.now - started
                #expect(takeover < .seconds(5), "takeover took \(takeover)")
                try await Self.run(clients: 30, on: survivors, simulator)
                let stats = try await simulator.stats()
                #expect(stats.createsRefused == 0, "the platform refused creates: \(stats.refused)")
                #expect(stats.peakNonTerminal <= 4)
                #expect(stats.createsAccepted == 30)
            }
        }

        @Test("PostgreSQL stops: hosts fall back to their shares, none refused; it returns: they rejoin and reconcile")
        func databaseOutage() async throws {
            try await withFleet(simulator: Self.simulator, shares: [1, 1, 2]) { simulator, daemons, postgres in
                try await eventually("a host polls", timeout: .seconds(10), interval: .milliseconds(100)) {
                    try await Self.poller(of: daemons[0]) != nil
                }
                try await Self.run(clients: 12, on: daemons, simulator)

                try postgres.stopCluster()
                for daemon in daemons {
                    try await eventually("database unreachable in the status", timeout: .seconds(20), interval: .milliseconds(200)) {
                        try await Self.fleet(of: daemon)?["database"] as? String == "unreachable"
                    }
                }
                // A lease taken during the outage counts against the host's share and shows in its status.
                let held = try await daemons[2].acquire(holder: "outage-holder", wait: 30, timeout: .seconds(40))
                try #require(held.status == 201, "acquire during the outage: \(held)")
                let heldID = try #require(held.string("id"))
                let fallback = try #require(try await Self.fleet(of: daemons[2]))
                #expect(fallback["fallback_in_use"] as? Int == 1)
                let created = try await simulator.createSession()
                try #require(created.status == 201)
                let session = try #require(created.string("id"))
                #expect(try await daemons[2].bind(heldID, to: session).status == 200)
                // Clients go on through every host, each within its share (1 + 1 + 2 = the limit 4).
                try await Self.run(clients: 12, on: daemons, simulator)
                var stats = try await simulator.stats()
                #expect(stats.createsRefused == 0, "refused during the outage: \(stats.refused)")
                #expect(stats.peakNonTerminal <= 4)

                try postgres.startCluster()
                for daemon in daemons {
                    try await eventually("database ok again", timeout: .seconds(30), interval: .milliseconds(200)) {
                        let fleet = try await Self.fleet(of: daemon)
                        return fleet?["database"] as? String == "ok" && fleet?["fallback_in_use"] as? Int == 0
                    }
                }
                // The outage's lease is back in the fleet: another host knows it and lists it (bound, or released
                // once the fleet's poller saw its session end).
                let known = try await daemons[0].get("/v1/leases/\(heldID)")
                #expect(known.status == 200 && known.string("host") == "host-2", "the outage's lease from another host: \(known)")
                #expect(["bound", "released"].contains(known.string("state") ?? ""))
                let listed = try #require(try await daemons[1].get("/v1/leases").json?["leases"] as? [[String: Any]])
                #expect(listed.contains { $0["id"] as? String == heldID }, "fleet listing: \(listed)")
                try? await simulator.finish(session)
                let released = try await daemons[0].release(heldID)
                #expect(released.status == 200, "release from another host: \(released)")
                try await Self.run(clients: 12, on: daemons, simulator)
                stats = try await simulator.stats()
                #expect(stats.createsRefused == 0, "refused: \(stats.refused)")
                #expect(stats.peakNonTerminal <= 4)
                #expect(stats.createsAccepted == 37)
            }
        }

        /// Issue 12, hole 6: a host in fallback keeps reading the platform itself, at its share of the call budget.
        /// Sessions created outside the gate and a limit drop stop its grants; each host takes only its share of the
        /// room a fresh reading leaves, so hosts deciding alone never add up to more than the platform has; and
        /// `/v1/status` answers at once during the outage.
        @Test("PostgreSQL stops: hosts in fallback read the platform, and outside sessions or a limit drop stop their grants")
        func fallbackReadsThePlatform() async throws {
            let options = SimulatorOptions(limit: 4, runMilliseconds: "none", pendingMilliseconds: 30)
            try await withFleet(hosts: 2, simulator: options, shares: [2, 2]) { simulator, daemons, postgres in
                try await eventually("a host polls", timeout: .seconds(10), interval: .milliseconds(100)) {
                    try await Self.poller(of: daemons[0]) != nil
                }
                for daemon in daemons {
                    try await eventually("each host knows the other", timeout: .seconds(10), interval: .milliseconds(100)) {
                        (try await Self.fleet(of: daemon)?["hosts"] as? [Any])?.count == 2
                    }
                }
                try postgres.stopCluster()
                for daemon in daemons {
                    try await eventually("database unreachable in the status", timeout: .seconds(20), interval: .milliseconds(200)) {
                        try await Self.fleet(of: daemon)?["database"] as? String == "unreachable"
                    }
                    let started = ContinuousClock.now
                    _ = try await daemon.status()
                    let took = ContinuousClock.now - started
                    #expect(took < .seconds(3), "/v1/status during the outage took \(took)")
                }
                let quotaReads = try await simulator.stats().requests["quota", default: 0]
                // Three sessions behind the gate: one slot left, which neither host may take alone (its part of
                // one free slot is half a slot).
                let outside = try await simulator.createExternal(count: 3)
                for daemon in daemons {
                    try await daemon.waitForStatus("this host's own reading shows the outside sessions", timeout: .seconds(20)) {
                        ($0["upstream"] as? [String: Any])?["active"] as? Int == 3
                    }
                }
                for daemon in daemons {
                    let refused = try await daemon.acquire(holder: "try-once", wait: 0)
                    #expect(refused.status != 201, "a grant into the platform's last slot during the outage: \(refused)")
                }
                #expect(try await simulator.stats().requests["quota", default: 0] > quotaReads, "the platform was read during the outage")
                // The outside sessions end and the limit drops to 2: each host may hold one.
                for id in outside { try await simulator.finish(id) }
                try await simulator.setLimit(2)
                for daemon in daemons {
                    try await daemon.waitForStatus("this host's reading shows limit 2 and nothing active", timeout: .seconds(20)) {
                        let upstream = $0["upstream"] as? [String: Any]
                        return upstream?["active"] as? Int == 0 && upstream?["limit"] as? Int == 2
                    }
                }
                var created: [String] = []
                for daemon in daemons {
                    let lease = try await daemon.grantedLease(holder: "after-drop", wait: 10)
                    let leaseID = try #require(lease["id"] as? String)
                    let session = try await simulator.createSession()
                    try #require(session.status == 201, "a create within the dropped limit: \(session)")
                    let sessionID = try #require(session.string("id"))
                    #expect(try await daemon.bind(leaseID, to: sessionID).status == 200)
                    created.append(sessionID)
                }
                for daemon in daemons {
                    let refused = try await daemon.acquire(holder: "over-the-drop", wait: 0)
                    #expect(refused.status != 201, "a third grant under limit 2: \(refused)")
                }
                let stats = try await simulator.stats()
                #expect(stats.createsRefused == 0, "refused during the outage: \(stats.refused)")
                try postgres.startCluster()
                for session in created { try? await simulator.finish(session) }
            }
        }

        static func fleet(of daemon: DaemonProcess) async throws -> [String: Any]? {
            try await daemon.get("/v1/status").json?["fleet"] as? [String: Any]
        }

        /// The polling host as `daemon` reports it; nil while none holds the claim.
        static func poller(of daemon: DaemonProcess) async throws -> String? {
            let fleet = try await daemon.get("/v1/status").json?["fleet"] as? [String: Any]
            return fleet?["poller"] as? String
        }

        /// `clients` clients spread over the daemons, half in lease mode, half through the proxy.
        static func run(clients: Int, on daemons: [DaemonProcess], _ simulator: Simulator) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<clients {
                    let daemon = daemons[index % daemons.count]
                    if index % 2 == 0 {
                        group.addTask { try await Concurrency.leaseClient(index, simulator, daemon) }
                    } else {
                        group.addTask { try await Concurrency.proxyClient(index, daemon) }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
