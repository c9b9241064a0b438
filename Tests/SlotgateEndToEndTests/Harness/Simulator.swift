//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1

/// The simulator's counters (`GET /_sim/stats`).
struct SimulatorStats: Decodable, Sendable {
    struct Refusal: Decodable, Sendable {
        var at: String
        var active: Int
        var limit: Int
    }

    var createsAccepted: Int
    var createsRefused: Int
    var injected429: Int
    var peakNonTerminal: Int
    var nonTerminal: Int
    var limit: Int
    var requests: [String: Int]
    var refused: [Refusal]

    enum CodingKeys: String, CodingKey {
        case createsAccepted = "creates_accepted"
        case createsRefused = "creates_refused"
        case injected429 = "injected_429"
        case peakNonTerminal = "peak_non_terminal"
        case nonTerminal = "non_terminal"
        case limit, requests, refused
    }
}

/// How to start `agp-sim`.
struct SimulatorOptions: Sendable {
    var limit = 3
    /// `MIN-MAX`, `N` or `none`.
    var runMilliseconds = "200-400"
    var pendingMilliseconds = 50
    var extraArguments: [String] = []
    /// Whether the simulator accepts ``E2E/apiKey`` (false: the daemon's key is refused with 401).
    var acceptE2EKey = true
}

/// A running `agp-sim` on 127.0.0.1 with a port of its own, accepting ``E2E/apiKey``.
final class Simulator: Sendable {
    let child: ChildProcess
    /// `http://127.0.0.1:PORT`.
    let root: String
    /// `http://127.0.0.1:PORT/api/v2`, the daemon's `upstream.url`.
    let baseURL: String

    private init(child: ChildProcess, baseURL: String) {
        self.child = child
        self.baseURL = baseURL
        root = String(baseURL.dropLast("/api/v2".count))
    }

    /// Starts the simulator and waits for its `agp-sim listening on …` line (10 s at most).
    static func start(_ options: SimulatorOptions = SimulatorOptions()) async throws -> Simulator {
        let arguments =
            [
                "--host", "127.0.0.1", "--port", "0", "--limit", String(options.limit),
                "--run-ms", options.runMilliseconds, "--pending-ms", String(options.pendingMilliseconds),
            ] + (options.acceptE2EKey ? ["--api-key", E2E.apiKey] : []) + options.extraArguments
        let child = try ChildProcess(
            name: "agp-sim",
            executable: Paths.simulator,
            arguments: arguments,
            environment: ["PATH": "/usr/bin:/bin"]
        )
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let output = child.stdout.text
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("agp-sim listening on ") }) {
                let url = String(line.dropFirst("agp-sim listening on ".count)).trimmingCharacters(in: .whitespaces)
                guard url.hasPrefix("http://127.0.0.1:"), url.hasSuffix("/api/v2") else {
                    await child.stop()
                    throw HarnessError("agp-sim printed an unexpected address: \(line)")
                }
                return Simulator(child: child, baseURL: url)
            }
            if !child.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await child.stop()
        throw HarnessError("agp-sim did not print its address within 10 s; stderr:\n\(child.stderr.tail(30))")
    }

    func stop() async {
        await child.stop()
    }

    // MARK: Control routes

    private func control(_ method: HTTPMethod, _ path: String, _ body: [String: any Sendable]? = nil) async throws -> HTTPReply {
        let reply = try await E2EHTTP.send(method, url: root + path, body: body.map(jsonBody), timeout: .seconds(10))
        guard (200..<300).contains(reply.status) else { throw HarnessError("agp-sim \(path) answered \(reply)") }
        return reply
    }

    /// Defines a resource of session `session` to download through `GET /api/v2/sessions/{id}/resources/{name}`:
    /// `bytes` bytes (byte `i` is `i % 251`) in `parts` parts; a held one sends each part after the first only once
    /// released.
    func defineResource(
        session: String,
        name: String,
        bytes: Int,
        parts: Int,
        held: Bool = false,
        contentType: String = "application/octet-stream"
    ) async throws {
        let body: [String: any Sendable] = ["bytes": bytes, "parts": parts, "held": held, "content_type": contentType]
        _ = try await control(.POST, "/_sim/sessions/\(session)/resources/\(name)", body)
    }

    /// Sends `parts` more held parts of a resource.
    func releaseResource(session: String, name: String, parts: Int = 1) async throws {
        _ = try await control(.POST, "/_sim/sessions/\(session)/resources/\(name)/release", ["parts": parts])
    }

    /// How the simulator's resource downloads ended: written whole, or the reader gone first.
    func resourceDownloads() async throws -> (completed: Int, aborted: Int) {
        let json = try await control(.GET, "/_sim/resources").json ?? [:]
        return (json["completed"] as? Int ?? -1, json["aborted"] as? Int ?? -1)
    }

    func stats() async throws -> SimulatorStats {
        let reply = try await control(.GET, "/_sim/stats")
        return try JSONDecoder().decode(SimulatorStats.self, from: Data(reply.body))
    }

    func setLimit(_ limit: Int) async throws {
        _ = try await control(.POST, "/_sim/limit", ["limit": limit])
    }

    /// Sets the faults (snake_case keys of `SimulatorFaults`); an empty dictionary clears them.
    func setFaults(_ faults: [String: any Sendable]) async throws {
        _ = try await control(.POST, "/_sim/faults", faults)
    }

    /// Creates sessions behind the daemon's back; returns their ids.
    func createExternal(count: Int = 1, runMilliseconds: Int? = nil) async throws -> [String] {
        var body: [String: any Sendable] = ["count": count]
        if let runMilliseconds { body["run_ms"] = runMilliseconds }
        let reply = try await control(.POST, "/_sim/external", body)
        return reply.json?["ids"] as? [String] ?? []
    }

    func finish(_ sessionID: String, status: String = "completed") async throws {
        _ = try await control(.POST, "/_sim/sessions/\(sessionID)/finish", ["status": status])
    }

    func setTokens(limit: Int, used: Int) async throws {
        _ = try await control(.POST, "/_sim/tokens", ["limit": limit, "used": used])
    }

    // MARK: The platform API, as a client holding the key would call it

    /// `POST /api/v2/sessions` with the key and `"queue": false`.
    func createSession() async throws -> HTTPReply {
        try await E2EHTTP.send(
            .POST,
            url: baseURL + "/sessions",
            headers: [("Authorization", "Bearer \(E2E.apiKey)")],
            body: jsonBody(["agent": "h/x", "messages": "m", "queue": false]),
            timeout: .seconds(10)
        )
    }

    /// The session's status string from `GET /api/v2/sessions/{id}/status`.
    func sessionStatus(_ id: String) async throws -> String? {
        let reply = try await E2EHTTP.send(
            .GET,
            url: baseURL + "/sessions/\(id)/status",
            headers: [("Authorization", "Bearer \(E2E.apiKey)")],
            timeout: .seconds(10)
        )
        return reply.string("status")
    }

    /// Polls until the session is terminal.
    func waitUntilTerminal(_ id: String, timeout: Duration = .seconds(30)) async throws {
        try await eventually("session \(id) terminal", timeout: timeout, interval: .milliseconds(100)) {
            E2E.terminalStatuses.contains(try await self.sessionStatus(id) ?? "")
        }
    }
}
