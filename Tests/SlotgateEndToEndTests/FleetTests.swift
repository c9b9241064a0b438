//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
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
