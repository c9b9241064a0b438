//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// The daemon's figures, measured on the real binaries (slotgated and agp-sim next to this executable) over the
// real Unix socket: acquire + release round trips, hand-off latency, slot utilization, memory with 10,000
// parked waiters, and platform calls per minute.

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One simulator and one daemon pointed at it.
struct Bench {
    static let key = "hk-bench-key"
    let directory: String
    let simulator: Child
    let simulatorPort: Int
    let daemon: Child
    let socket: String

    static var binaries: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    static func start(_ name: String, limit: Int, runMs: String, daemonEnvironment: [String: String] = [:]) throws -> Bench {
        let directory = NSTemporaryDirectory() + "slotgate-bench-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let simulator = try Child(
            binaries + "/agp-sim",
            // No pending phase: a session holds its slot exactly its run time, so the ideal makespan is exact.
            ["--port", "0", "--limit", String(limit), "--run-ms", runMs, "--pending-ms", "0", "--api-key", key],
            environment: ["PATH": "/usr/bin:/bin"],
            logPath: directory + "/sim.log"
        )
        var port = 0
        _ = waitUntil(10) {
            if let line = simulator.log.split(separator: "\n").first(where: { $0.contains("listening on") }),
                let url = line.split(separator: " ").last, let components = URLComponents(string: String(url))
            {
                port = components.port ?? 0
            }
            return port != 0
        }
        guard port != 0 else { throw RawHTTP.Failure(description: "agp-sim did not start: \(simulator.log)") }
        let socket = directory + "/s.sock"
        var environment = [
            "PATH": "/usr/bin:/bin",
            "SLOTGATE_UPSTREAM_URL": "http://127.0.0.1:\(port)/api/v2",
            "SLOTGATE_API_KEY": key,
            "SLOTGATE_LOG_LEVEL": "warning",
        ]
        environment.merge(daemonEnvironment) { _, new in new }
        let daemon: Child
        do {
            daemon = try Child(
                binaries + "/slotgated",
                ["--socket", socket, "--state-dir", directory],
                environment: environment,
                logPath: directory + "/daemon.log"
            )
        } catch {
            simulator.stop()
            throw error
        }
        let bench = Bench(directory: directory, simulator: simulator, simulatorPort: port, daemon: daemon, socket: socket)
        guard waitUntil(15, { (try? bench.status())?["upstream"].flatMap { ($0 as? [String: Any])?["healthy"] as? Bool } == true }) else {
            let log = daemon.log
            bench.stop()
            throw RawHTTP.Failure(description: "slotgated did not become healthy: \(log)")
        }
        return bench
    }

    func stop() {
        daemon.stop()
        simulator.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func client() throws -> RawHTTP { try RawHTTP(unixPath: socket) }

    func status() throws -> [String: Any] {
        let answer = try client().request("GET", "/v1/status")
        return (try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
    }

    func simulatorStats() throws -> [String: Any] {
        let answer = try RawHTTP(port: simulatorPort).request("GET", "/_sim/stats")
        return (try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
    }

    func platformRequests() -> [String: Int] {
        ((try? simulatorStats())?["requests"] as? [String: Int]) ?? [:]
    }

    /// Creates a session on the platform directly, as a lease holder would; returns its id.
    static func createSession(_ simulator: RawHTTP) throws -> String {
        let answer = try simulator.request(
            "POST",
            "/api/v2/sessions",
            body: #"{"agent":"h/bench","messages":"go","queue":false}"#,
            headers: ["Authorization": "Bearer \(Self.key)"]
        )
        guard answer.status == 201 else { throw RawHTTP.Failure(description: "create: \(answer.status) \(answer.body)") }
        return try Self.field(answer.body, "id")
    }

    static func field(_ body: String, _ name: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        guard let value = object?[name] as? String else { throw RawHTTP.Failure(description: "no \(name) in \(body)") }
        return value
    }
}

/// Samples collected from several threads.
final class Samples: Sendable {
    private let values = Mutex<[Duration]>([])

    func append(_ value: Duration) {
        values.withLock { $0.append(value) }
    }

    var all: [Duration] { values.withLock { $0 } }
}

/// Room for the memory benchmark's 10,000 connections.
func raiseFileLimit() {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = min(limit.rlim_max, 65_536)
    setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
}

func runDaemonBenchmarks() throws {
    raiseFileLimit()

    // Platform calls per minute while idle, measured over a minute on a daemon started first and left alone.
    let idle = try Bench.start("idle", limit: 3, runMs: "none")
    defer { idle.stop() }
    let idleStarted = Date()
    let idleBefore = idle.platformRequests()

    try roundTrips()
    try handOff()
    try utilization()
    try proxyUtilization()
    try memoryAndBusyCalls()

    let remaining = 60 - Date().timeIntervalSince(idleStarted)
    if remaining > 0 { usleep(UInt32(remaining * 1_000_000)) }
    let idleAfter = idle.platformRequests()
    let minutes = Date().timeIntervalSince(idleStarted) / 60
    let calls = idleAfter.map { $0.value - (idleBefore[$0.key] ?? 0) }.reduce(0, +)
    print(
        String(
            format: "platform calls while idle: %.1f per minute (%d in %.0f s; by route: %@)",
            Double(calls) / minutes,
            calls,
            minutes * 60,
            idleAfter.map { "\($0.key)=\($0.value - (idleBefore[$0.key] ?? 0))" }.sorted().joined(separator: " ")
        )
    )
}

/// Acquire + release over the socket with a free slot, at 1 and 16 concurrent clients; then at 1 client with
/// `state.fsync: true` (each grant waits for the disk).
func roundTrips() throws {
    try roundTrips(clients: [1, 16])
    try roundTrips(clients: [1], label: ", state.fsync true", daemonEnvironment: ["SLOTGATE_STATE_FSYNC": "true"])
}

func roundTrips(clients counts: [Int], label: String = "", daemonEnvironment: [String: String] = [:]) throws {
    let bench = try Bench.start("rtt", limit: 100_000, runMs: "none", daemonEnvironment: daemonEnvironment)
    defer { bench.stop() }
    for clients in counts {
        let samples = Samples()
        let iterations = clients == 1 ? 3000 : 400
        let failures = Samples()
        let socket = bench.socket
        onThreads(clients) { _ in
            guard let client = try? RawHTTP(unixPath: socket) else { return }
            // Untimed warm-up: the daemon's first requests pay one-time costs (the first grant ~5 ms: type
            // metadata, the ledger's first pages, the allocator's first arenas).
            for iteration in -200..<iterations {
                let began = ContinuousClock.now
                guard let granted = try? client.request("POST", "/v1/leases", body: #"{"wait_s":0}"#), granted.status == 201,
                    let id = try? Bench.field(granted.body, "id"),
                    (try? client.request("DELETE", "/v1/leases/\(id)"))?.status == 200
                else {
                    failures.append(.zero)
                    continue
                }
                if iteration >= 0 { samples.append(began.duration(to: .now)) }
            }
        }
        guard let figures = latencies(samples.all) else { continue }
        print("acquire+release round trip, \(clients) client(s)\(label): \(figures) failures=\(failures.all.count)")
    }
}

/// Limit 1: a waiter is parked; the holder's session ends on the platform and the holder releases. Measured from
/// the release sent to the waiter's grant received (one platform status read in between).
func handOff() throws {
    let bench = try Bench.start("handoff", limit: 1, runMs: "none")
    defer { bench.stop() }
    let platform = try RawHTTP(port: bench.simulatorPort)
    let control = try RawHTTP(port: bench.simulatorPort)
    let samples = Samples()
    for _ in 0..<40 {
        // A waiting request's connection closes after its answer (Connection: close): one connection per request.
        let granted = try bench.client().request("POST", "/v1/leases", body: #"{"wait_s":30,"holder":"a"}"#)
        let id = try Bench.field(granted.body, "id")
        let session = try Bench.createSession(platform)
        _ = try bench.client().request("POST", "/v1/leases/\(id)/session", body: #"{"session_id":"\#(session)"}"#)
        let waiter = try bench.client()
        try waiter.send("POST", "/v1/leases", body: #"{"wait_s":30,"holder":"b"}"#)
        guard waitUntil(5, { ((try? bench.status())?["queue"] as? [String: Any])?["waiting"] as? Int == 1 }) else { continue }
        _ = try control.request("POST", "/_sim/sessions/\(session)/finish", body: #"{"status":"completed"}"#)
        let releasing = try bench.client()
        let began = ContinuousClock.now
        _ = try releasing.request("DELETE", "/v1/leases/\(id)")
        let answer = try waiter.readResponse()
        samples.append(began.duration(to: .now))
        if let next = try? Bench.field(answer.body, "id") {
            // Bind and end the waiter's slot the same way, so the next round starts with the slot free.
            let second = try Bench.createSession(platform)
            _ = try bench.client().request("POST", "/v1/leases/\(next)/session", body: #"{"session_id":"\#(second)"}"#)
            _ = try control.request("POST", "/_sim/sessions/\(second)/finish", body: #"{"status":"completed"}"#)
            _ = try bench.client().request("DELETE", "/v1/leases/\(next)")
        }
    }
    guard let figures = latencies(samples.all) else { return }
    print("release-to-grant hand-off (holder releases an ended session): \(figures)")
}

/// 60 sessions of 500 ms through `slotgate run`-style clients against limit 3: acquire, create, bind, wait for the
/// end, release. Ideal makespan 60 × 0.5 s / 3 = 10 s.
func utilization() throws {
    let bench = try Bench.start("utilization", limit: 3, runMs: "500-500", daemonEnvironment: ["SLOTGATE_UPSTREAM_POLL_INTERVAL_S": "2"])
    defer { bench.stop() }
    let began = Date()
    let socket = bench.socket
    let port = bench.simulatorPort
    onThreads(60) { index in
        guard let platform = try? RawHTTP(port: port),
            let granted = try? RawHTTP(unixPath: socket).request("POST", "/v1/leases", body: #"{"wait_s":300,"holder":"job-\#(index % 6)"}"#),
            let client = try? RawHTTP(unixPath: socket),
            let id = try? Bench.field(granted.body, "id"), let session = try? Bench.createSession(platform)
        else { return }
        _ = try? client.request("POST", "/v1/leases/\(id)/session", body: #"{"session_id":"\#(session)"}"#)
        while true {
            guard let answer = try? platform.request("GET", "/api/v2/sessions/\(session)/status", headers: ["Authorization": "Bearer \(Bench.key)"]),
                let status = try? Bench.field(answer.body, "status")
            else { break }
            if ["completed", "failed", "timed_out", "interrupted"].contains(status) { break }
            usleep(10_000)
        }
        _ = try? client.request("DELETE", "/v1/leases/\(id)")
    }
    let makespan = Date().timeIntervalSince(began)
    let stats = (try? bench.simulatorStats()) ?? [:]
    print(
        String(
            format:
                "slot utilization, 60 × 500 ms sessions at limit 3: makespan %.2f s, ideal 10.00 s → %.1f %% of ideal; creates %d, refused %d, peak %d",
            makespan,
            1000 / makespan,
            stats["creates_accepted"] as? Int ?? -1,
            stats["creates_refused"] as? Int ?? -1,
            stats["peak_non_terminal"] as? Int ?? -1
        )
    )
}

/// Issue 16: 60 sessions of 500 ms created through the proxy by clients that poll their session's status through
/// the proxy every 100 ms and never release, against limit 3 (ideal makespan 10 s). The daemon learns each end
/// from the proxied reads; its own platform calls are printed beside (they are not raised to get there).
func proxyUtilization() throws {
    let bench = try Bench.start(
        "proxy-utilization",
        limit: 3,
        runMs: "500-500",
        daemonEnvironment: ["SLOTGATE_UPSTREAM_POLL_INTERVAL_S": "2"]
    )
    defer { bench.stop() }
    let before = bench.platformRequests()
    let began = Date()
    let socket = bench.socket
    let proxiedReads = Mutex(0)
    onThreads(60) { index in
        guard let client = try? RawHTTP(unixPath: socket),
            let created = try? client.request(
                "POST",
                "/api/v2/sessions",
                body: #"{"agent":"h/bench","messages":"go","queue":false}"#,
                headers: ["Slotgate-Holder": "job-\(index % 6)", "Slotgate-Wait": "300"]
            ),
            let session = try? Bench.field(created.body, "id")
        else { return }
        while true {
            guard let reader = try? RawHTTP(unixPath: socket),
                let answer = try? reader.request("GET", "/api/v2/sessions/\(session)/status"),
                let status = try? Bench.field(answer.body, "status")
            else { break }
            proxiedReads.withLock { $0 += 1 }
            if ["completed", "failed", "timed_out", "interrupted"].contains(status) { break }
            usleep(100_000)
        }
    }
    let makespan = Date().timeIntervalSince(began)
    let after = bench.platformRequests()
    let reads = proxiedReads.withLock { $0 }
    let byRoute = after.map { ($0.key, $0.value - (before[$0.key] ?? 0)) }
    let total = byRoute.map(\.1).reduce(0, +)
    let own = total - reads - 60
    let stats = (try? bench.simulatorStats()) ?? [:]
    print(
        String(
            format:
                "proxy utilization, 60 × 500 ms sessions created and polled through the proxy, never released, limit 3: makespan %.2f s, ideal 10.00 s → %.1f %% of ideal; "
                + "refused %d, peak %d; the daemon's own platform calls %d (%.1f per s), proxied status reads %d",
            makespan,
            1000 / makespan,
            stats["creates_refused"] as? Int ?? -1,
            stats["peak_non_terminal"] as? Int ?? -1,
            own,
            Double(own) / makespan,
            reads
        )
    )
}

/// 10,000 parked long-poll waiters: the daemon's resident memory, and platform calls per poll interval while they
/// wait (the pace is fast: one interval is 2 s).
func memoryAndBusyCalls() throws {
    let bench = try Bench.start(
        "memory",
        limit: 1,
        runMs: "none",
        daemonEnvironment: [
            "SLOTGATE_QUEUE_MAX_CONNECTIONS": "20000", "SLOTGATE_SOCKET_MAX_CONNECTIONS_PER_UID": "20000",
        ]
    )
    defer { bench.stop() }
    let holder = try bench.client()
    _ = try holder.request("POST", "/v1/leases", body: #"{"wait_s":0}"#)
    let baseline = bench.daemon.residentKiB
    var connections: [RawHTTP] = []
    connections.reserveCapacity(10_000)
    for index in 0..<10_000 {
        let connection = try bench.client()
        try connection.send("POST", "/v1/leases", body: #"{"wait_s":600,"holder":"w\#(index % 1000)"}"#)
        connections.append(connection)
    }
    guard waitUntil(60, { ((try? bench.status())?["queue"] as? [String: Any])?["waiting"] as? Int == 10_000 }) else {
        print("memory: the waiters did not all park; status \((try? bench.status()) ?? [:])")
        return
    }
    let parked = bench.daemon.residentKiB
    print(String(format: "resident memory: %.1f MiB idle, %.1f MiB with 10,000 parked waiters", Double(baseline) / 1024, Double(parked) / 1024))
    let before = bench.platformRequests()
    let window = 20.0
    usleep(UInt32(window * 1_000_000))
    let after = bench.platformRequests()
    let calls = after.map { $0.value - (before[$0.key] ?? 0) }.reduce(0, +)
    print(String(format: "platform calls while 10,000 wait: %.2f per 2 s poll interval (%d in %.0f s)", Double(calls) / (window / 2), calls, window))
    connections.removeAll()
}
