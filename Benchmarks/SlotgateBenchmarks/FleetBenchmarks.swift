//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// Shared mode's figures on the real binaries and a PostgreSQL cluster of the benchmark's own on loopback: grant
// latency with one host and with three, hand-off across hosts, the fleet's platform calls, and database
// statements (round trips) per grant.

import Foundation
import SlotgateTesting

#if canImport(Glibc)
import Glibc
#endif

/// A fleet: one simulator, one database, `hosts` daemons.
struct FleetBench {
    let postgres: PostgresServer
    let first: Bench
    let others: [Child]
    let sockets: [String]

    static func start(_ name: String, hosts: Int, limit: Int, environment: [String: String] = [:]) async throws -> FleetBench {
        let postgres = try await PostgresServer.start()
        let shared = ["SLOTGATE_SHARED_POSTGRES_URL": postgres.url].merging(environment) { _, new in new }
        let first = try Bench.start(
            name,
            limit: limit,
            runMs: "none",
            daemonEnvironment: shared.merging(["SLOTGATE_SHARED_HOST_ID": "h0"]) { _, new in new }
        )
        var others: [Child] = []
        var sockets = [first.socket]
        for index in 1..<hosts {
            let socket = first.directory + "/h\(index).sock"
            var variables = [
                "PATH": "/usr/bin:/bin",
                "SLOTGATE_UPSTREAM_URL": "http://127.0.0.1:\(first.simulatorPort)/api/v2",
                "SLOTGATE_API_KEY": Bench.key,
                "SLOTGATE_LOG_LEVEL": "warning",
                "SLOTGATE_SHARED_HOST_ID": "h\(index)",
            ]
            variables.merge(shared) { _, new in new }
            others.append(
                try Child(
                    Bench.binaries + "/slotgated",
                    ["--socket", socket, "--state-dir", first.directory],
                    environment: variables,
                    logPath: first.directory + "/h\(index).log"
                )
            )
            sockets.append(socket)
            _ = waitUntil(15) { (try? RawHTTP(unixPath: socket).request("GET", "/v1/status"))?.status == 200 }
        }
        // Every host sees the fleet's reading before the measurements start.
        _ = waitUntil(15) { ((try? first.status())?["fleet"] as? [String: Any])?["poller"] is String }
        return FleetBench(postgres: postgres, first: first, others: others, sockets: sockets)
    }

    func stop() {
        for child in others { child.stop() }
        first.stop()
        postgres.destroy()
    }

    /// The sum over the hosts of a counter in `/metrics`.
    func counter(_ name: String) -> Double {
        var total = 0.0
        for socket in sockets {
            guard let text = try? RawHTTP(unixPath: socket).request("GET", "/metrics").body else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
                total += Double(line.split(separator: " ").last ?? "") ?? 0
            }
        }
        return total
    }
}

func runFleetBenchmarks() async throws {
    print("fleet (shared mode, PostgreSQL on loopback with fsync off):")
    for hosts in [1, 3] {
        let fleet = try await FleetBench.start("fleet\(hosts)", hosts: hosts, limit: 100_000)
        defer { fleet.stop() }
        try fleetGrants(fleet, hosts: hosts)
    }
    try await fleetHandOff()
    try await fleetPlatformCalls()
}

/// Try-once acquire (the grant) and release over one host's socket, one client after another; then one client on
/// each host at once.
func fleetGrants(_ fleet: FleetBench, hosts: Int) throws {
    let statementsBefore = fleet.counter("slotgate_fleet_db_statements_total")
    let decisionsBefore = fleet.counter("slotgate_fleet_decisions_total")
    let grants = Samples()
    let rounds = Samples()
    let client = try RawHTTP(unixPath: fleet.sockets[0])
    let iterations = 500
    for _ in 0..<iterations {
        let began = ContinuousClock.now
        guard let granted = try? client.request("POST", "/v1/leases", body: #"{"wait_s":0}"#), granted.status == 201,
            let id = try? Bench.field(granted.body, "id")
        else { continue }
        grants.append(began.duration(to: .now))
        _ = try? client.request("DELETE", "/v1/leases/\(id)")
        rounds.append(began.duration(to: .now))
    }
    let statements = fleet.counter("slotgate_fleet_db_statements_total") - statementsBefore
    let decisions = fleet.counter("slotgate_fleet_decisions_total") - decisionsBefore
    guard let grantFigures = latencies(grants.all), let roundFigures = latencies(rounds.all) else { return }
    print("  \(hosts) host(s), 1 client: grant \(grantFigures); grant+release \(roundFigures)")
    print(
        String(
            format: "  \(hosts) host(s): %.1f database statements per grant+release (%.0f decisions, %.1f statements each, timer looks included)",
            statements / Double(grants.all.count),
            decisions,
            decisions > 0 ? statements / decisions : 0
        )
    )
    guard hosts > 1 else { return }
    let parallel = Samples()
    let sockets = fleet.sockets
    onThreads(hosts) { index in
        guard let client = try? RawHTTP(unixPath: sockets[index]) else { return }
        for _ in 0..<200 {
            let began = ContinuousClock.now
            guard let granted = try? client.request("POST", "/v1/leases", body: #"{"wait_s":0}"#), granted.status == 201,
                let id = try? Bench.field(granted.body, "id")
            else { continue }
            parallel.append(began.duration(to: .now))
            _ = try? client.request("DELETE", "/v1/leases/\(id)")
        }
    }
    guard let figures = latencies(parallel.all) else { return }
    print("  \(hosts) hosts, 1 client on each at once: grant \(figures)")
}

/// Limit 1: host h0 holds the slot with a bound session; a request waits on host h1; the session ends and h0's
/// holder releases. Measured from the release sent on h0 to the grant received on h1.
func fleetHandOff() async throws {
    let fleet = try await FleetBench.start("fleethandoff", hosts: 2, limit: 1)
    defer { fleet.stop() }
    let platform = try RawHTTP(port: fleet.first.simulatorPort)
    let control = try RawHTTP(port: fleet.first.simulatorPort)
    let samples = Samples()
    for _ in 0..<40 {
        let granted = try RawHTTP(unixPath: fleet.sockets[0]).request("POST", "/v1/leases", body: #"{"wait_s":30,"holder":"a"}"#)
        guard let id = try? Bench.field(granted.body, "id") else { continue }
        let session = try Bench.createSession(platform)
        _ = try RawHTTP(unixPath: fleet.sockets[0]).request("POST", "/v1/leases/\(id)/session", body: #"{"session_id":"\#(session)"}"#)
        let waiter = try RawHTTP(unixPath: fleet.sockets[1])
        try waiter.send("POST", "/v1/leases", body: #"{"wait_s":30,"holder":"b"}"#)
        guard waitUntil(5, { ((try? fleet.first.status())?["queue"] as? [String: Any])?["waiting"] as? Int == 1 }) else { continue }
        _ = try control.request("POST", "/_sim/sessions/\(session)/finish", body: #"{"status":"completed"}"#)
        let releasing = try RawHTTP(unixPath: fleet.sockets[0])
        let began = ContinuousClock.now
        _ = try releasing.request("DELETE", "/v1/leases/\(id)")
        let answer = try waiter.readResponse()
        samples.append(began.duration(to: .now))
        if let next = try? Bench.field(answer.body, "id") {
            let second = try Bench.createSession(platform)
            _ = try RawHTTP(unixPath: fleet.sockets[1]).request("POST", "/v1/leases/\(next)/session", body: #"{"session_id":"\#(second)"}"#)
            _ = try control.request("POST", "/_sim/sessions/\(second)/finish", body: #"{"status":"completed"}"#)
            _ = try RawHTTP(unixPath: fleet.sockets[1]).request("DELETE", "/v1/leases/\(next)")
        }
    }
    guard let figures = latencies(samples.all) else { return }
    print("  hand-off across hosts (release on h0 → grant on h1): \(figures)")
}

/// The platform calls of a fleet of three, busy (a request waits: fast pace, 2 s) and idle (30 s), against one
/// host's budget: busy ≤ 2 per poll interval, idle ≤ 4 per minute.
func fleetPlatformCalls() async throws {
    let fleet = try await FleetBench.start("fleetcalls", hosts: 3, limit: 1)
    defer { fleet.stop() }
    let window = 60.0
    var before = fleet.first.platformRequests()
    usleep(UInt32(window * 1_000_000))
    var after = fleet.first.platformRequests()
    var calls = after.map { $0.value - (before[$0.key] ?? 0) }.reduce(0, +)
    print(String(format: "  platform calls of 3 idle hosts: %.1f per minute (%d in %.0f s)", Double(calls) / (window / 60), calls, window))
    let holder = try RawHTTP(unixPath: fleet.sockets[0])
    _ = try holder.request("POST", "/v1/leases", body: #"{"wait_s":0}"#)
    let waiters = try fleet.sockets.map { socket -> RawHTTP in
        let waiter = try RawHTTP(unixPath: socket)
        try waiter.send("POST", "/v1/leases", body: #"{"wait_s":120}"#)
        return waiter
    }
    usleep(3_000_000)
    before = fleet.first.platformRequests()
    let busy = 20.0
    usleep(UInt32(busy * 1_000_000))
    after = fleet.first.platformRequests()
    calls = after.map { $0.value - (before[$0.key] ?? 0) }.reduce(0, +)
    print(
        String(format: "  platform calls of 3 hosts while 3 wait: %.2f per 2 s poll interval (%d in %.0f s)", Double(calls) / (busy / 2), calls, busy)
    )
    _ = waiters
}
