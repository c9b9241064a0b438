//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1

/// A running `slotgated` on a socket of its own, with its stderr and every answer it gave collected (the key
/// must appear in neither).
final class DaemonProcess: Sendable {
    let child: ChildProcess
    let socketPath: String
    let configPath: String
    /// Every answer body received from this daemon, for the key check.
    let answers = OutputBuffer()

    private init(child: ChildProcess, socketPath: String, configPath: String) {
        self.child = child
        self.socketPath = socketPath
        self.configPath = configPath
    }

    /// The settings every test daemon starts with: fast polls, verbose logs (more places for a key to leak).
    static func baseEnvironment(upstreamURL: String) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin",
            "SLOTGATE_API_KEY": E2E.apiKey,
            "SLOTGATE_UPSTREAM_URL": upstreamURL,
            "SLOTGATE_UPSTREAM_POLL_INTERVAL_S": "0.2",
            "SLOTGATE_UPSTREAM_IDLE_POLL_INTERVAL_S": "0.5",
            "SLOTGATE_LOG_LEVEL": "debug",
        ]
    }

    /// Starts `slotgated --config FILE --socket DIR/d.sock --state-dir DIR/state` and waits until `/v1/status`
    /// says `ready: true` (10 s at most; the daemon's stderr is in the error otherwise).
    /// - Parameters:
    ///   - directory: the test's own directory.
    ///   - upstreamURL: the simulator's base URL.
    ///   - environment: `SLOTGATE_*` settings added to (or replacing) ``baseEnvironment(upstreamURL:)``.
    ///   - config: the YAML file's text.
    static func start(
        in directory: TemporaryDirectory,
        upstreamURL: String,
        environment: [String: String] = [:],
        config: String = "# end-to-end test\n"
    ) async throws -> DaemonProcess {
        let socketPath = directory.file("d.sock")
        let configPath = directory.file("slotgate.yaml")
        let stateDirectory = directory.file("state")
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
        let child = try ChildProcess(
            name: "slotgated",
            executable: Paths.slotgated,
            arguments: ["--config", configPath, "--socket", socketPath, "--state-dir", stateDirectory],
            environment: baseEnvironment(upstreamURL: upstreamURL).merging(environment) { _, new in new }
        )
        let daemon = DaemonProcess(child: child, socketPath: socketPath, configPath: configPath)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, child.isRunning {
            if FileManager.default.fileExists(atPath: socketPath),
                let reply = try? await daemon.get("/v1/status", timeout: .seconds(2)),
                reply.json?["ready"] as? Bool == true
            {
                return daemon
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        let exited = child.isRunning ? "still running" : "exited with \(child.exitCode.map(String.init) ?? "a signal")"
        await child.stop()
        throw HarnessError("slotgated was not ready within 10 s (\(exited)); stderr:\n\(child.stderr.tail(40))")
    }

    func stop() async {
        await child.stop()
    }

    // MARK: Requests

    /// Sends one request over the socket and records the answer.
    func request(
        _ method: HTTPMethod,
        _ uri: String,
        body: [UInt8]? = nil,
        headers: [(String, String)] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> HTTPReply {
        // One connection per request: the daemon closes a kept-alive connection after answering POST /v1/leases
        // without saying so (see ``EndToEnd/Transport/keepAliveAfterLeaseAnswer()``), and a pooled client
        // that reuses it fails. `Connection: close` keeps that bug out of every other test.
        var headers = headers
        if !headers.contains(where: { $0.0.lowercased() == "connection" }) { headers.append(("Connection", "close")) }
        do {
            let reply = try await E2EHTTP.send(method, url: try E2EHTTP.unixURL(socketPath, uri), headers: headers, body: body, timeout: timeout)
            record(reply, method: method.rawValue, uri: uri)
            return reply
        } catch {
            throw HarnessError("\(method) \(uri) on slotgated's socket failed: \(error)")
        }
    }

    func request(
        _ method: HTTPMethod,
        _ uri: String,
        json: [String: any Sendable],
        headers: [(String, String)] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> HTTPReply {
        try await request(method, uri, body: jsonBody(json), headers: headers, timeout: timeout)
    }

    func get(_ uri: String, timeout: Duration = .seconds(30)) async throws -> HTTPReply {
        try await request(.GET, uri, timeout: timeout)
    }

    /// Records an answer, for the key check and for the check against `docs/openapi.yaml` (``AnswerLog``);
    /// `method` and `uri` name the request it answers, nil for bytes that are no request to speak of.
    func record(_ reply: HTTPReply, method: String? = nil, uri: String? = nil) {
        answers.append(reply.body)
        for (name, value) in reply.headers { answers.append("\n\(name): \(value)\n") }
        AnswerLog.append(reply, method: method, uri: uri)
    }

    /// Records an answer for the key check only: the fuzzer checks its own answers (HEAD and CONNECT answers carry
    /// no body, platform errors pass through) and does not know which documented operation each one answers.
    func recordForKeyCheck(_ reply: HTTPReply) {
        answers.append(reply.body)
        for (name, value) in reply.headers { answers.append("\n\(name): \(value)\n") }
    }

    /// Records an answer received on a raw socket to the request in `request` (its request line names it).
    func record(_ reply: HTTPReply, request: [UInt8]) {
        let line = AnswerLog.requestLine(request)
        record(reply, method: line?.method, uri: line?.uri)
    }

    /// Records one line of a streamed answer (`POST /v1/leases?stream=1`) as an answer of its own.
    func recordStreamLine(_ line: String, uri: String = "/v1/leases?stream=1") {
        answers.append(line)
        let reply = HTTPReply(status: 200, headers: ["content-type": "application/x-ndjson"], body: Array(line.utf8))
        AnswerLog.append(reply, method: "POST", uri: uri, streamLine: true)
    }

    /// `GET /v1/status` as JSON.
    func status() async throws -> [String: Any] {
        let reply = try await get("/v1/status", timeout: .seconds(10))
        guard reply.status == 200, let json = reply.json else { throw HarnessError("/v1/status answered \(reply)") }
        return json
    }

    /// Polls `/v1/status` until `condition` holds; returns that status.
    @discardableResult
    func waitForStatus(
        _ what: String,
        timeout: Duration = .seconds(10),
        _ condition: @escaping ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            last = try await status()
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(40))
        }
        throw HarnessError("timed out after \(timeout) waiting for \(what); last /v1/status: \(last)")
    }

    /// `queue.waiting` of a status.
    static func waiting(_ status: [String: Any]) -> Int? {
        (status["queue"] as? [String: Any])?["waiting"] as? Int
    }

    /// `slots.<key>` of a status.
    static func slots(_ status: [String: Any], _ key: String) -> Int? {
        (status["slots"] as? [String: Any])?[key] as? Int
    }

    // MARK: Leases

    /// `POST /v1/leases`; the answer as it came.
    func acquire(
        holder: String = "e2e",
        wait: Double? = nil,
        claimTTL: Double? = nil,
        priority: Int? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> HTTPReply {
        var body: [String: any Sendable] = ["holder": holder]
        if let wait { body["wait_s"] = wait }
        if let claimTTL { body["claim_ttl_s"] = claimTTL }
        if let priority { body["priority"] = priority }
        return try await request(.POST, "/v1/leases", json: body, timeout: timeout)
    }

    /// `POST /v1/leases` that must be granted; returns the lease. It waits (10 s by default): a daemon is ready
    /// before its first platform reading, and a try-once request in between is answered `upstream_unavailable`.
    func grantedLease(holder: String = "e2e", wait: Double = 10, claimTTL: Double? = nil) async throws -> [String: Any] {
        let reply = try await acquire(holder: holder, wait: wait, claimTTL: claimTTL)
        guard reply.status == 201, let lease = reply.json else { throw HarnessError("expected a granted lease, got \(reply)") }
        return lease
    }

    func bind(_ leaseID: String, to sessionID: String) async throws -> HTTPReply {
        try await request(.POST, "/v1/leases/\(leaseID)/session", json: ["session_id": sessionID])
    }

    func release(_ leaseID: String) async throws -> HTTPReply {
        try await request(.DELETE, "/v1/leases/\(leaseID)")
    }

    func lease(_ leaseID: String) async throws -> [String: Any]? {
        try await get("/v1/leases/\(leaseID)").json
    }
}
