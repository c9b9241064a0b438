//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

/// Shared constants and the scope every end-to-end test runs in.
enum E2E {
    /// The fake platform key. It is distinctive so that a leak anywhere is found by a plain substring search.
    static let apiKey = "hk-e2e-SECRET-5f2c9e71d04b8a36"

    /// The platform's terminal statuses (agp-api.md §3).
    static let terminalStatuses: Set<String> = ["completed", "failed", "timed_out", "interrupted"]

    /// Every (status, code) pair of socket-api.md "Errors".
    static let documentedErrors: Set<String> = [
        "400 bad_request", "404 lease_not_found", "404 not_found", "405 method_not_allowed", "409 lease_conflict",
        "403 forbidden", "403 route_not_allowed", "413 body_too_large", "503 wait_timeout", "503 upstream_unavailable", "503 queue_full",
        "503 token_budget_exhausted", "503 shutting_down", "503 too_many_connections", "502 upstream_error",
    ]
}

/// Runs `body` against a fresh simulator and a fresh daemon pointed at it, each on its own port and socket, then
/// stops both (also when `body` fails) and checks that the API key never appeared in the daemon's output or in
/// an answer it gave.
func withStack<T: Sendable>(
    simulator options: SimulatorOptions = SimulatorOptions(),
    environment: [String: String] = [:],
    config: String = "# end-to-end test\n",
    beforeDaemon: (Simulator) async throws -> Void = { _ in },
    _ body: (Simulator, DaemonProcess, TemporaryDirectory) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let simulator = try await Simulator.start(options)
    let daemon: DaemonProcess
    do {
        try await beforeDaemon(simulator)
        daemon = try await DaemonProcess.start(in: directory, upstreamURL: simulator.baseURL, environment: environment, config: config)
    } catch {
        await simulator.stop()
        throw error
    }
    let result: Result<T, any Error>
    do {
        result = .success(try await body(simulator, daemon, directory))
    } catch {
        result = .failure(error)
        print("slotgated stderr (last 60 lines):\n\(daemon.child.stderr.tail(60))")
    }
    await daemon.stop()
    await simulator.stop()
    keepLogs(daemon, simulator)
    expectNoKeyLeak(daemon)
    return try result.get()
}

/// With `SLOTGATE_E2E_KEEP_LOGS=DIR`, writes the daemon's and the simulator's whole stderr (key redacted) to
/// `DIR/<pid>-<n>.{slotgated,agp-sim}.log`, for a failure that the printed tail does not explain.
func keepLogs(_ daemon: DaemonProcess, _ simulator: Simulator) {
    guard let directory = ProcessInfo.processInfo.environment["SLOTGATE_E2E_KEEP_LOGS"], !directory.isEmpty else { return }
    let stem = "\(directory)/\(getpid())-\(logCounter.next())"
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try? Data(daemon.child.stderr.tail(Int.max).utf8).write(to: URL(fileURLWithPath: stem + ".slotgated.log"))
    try? Data(simulator.child.stderr.tail(Int.max).utf8).write(to: URL(fileURLWithPath: stem + ".agp-sim.log"))
}

private let logCounter = Counter()

/// A counter shared by the tests.
final class Counter: Sendable {
    private let value = Locked(0)

    func next() -> Int {
        var result = 0
        value.update {
            $0 += 1
            result = $0
        }
        return result
    }
}

/// The key must not appear in the daemon's stdout, stderr, or any answer it gave. The expectation names where it
/// leaked without printing the text.
func expectNoKeyLeak(_ daemon: DaemonProcess, sourceLocation: SourceLocation = #_sourceLocation) {
    let inStderr = daemon.child.stderr.contains(E2E.apiKey)
    let inStdout = daemon.child.stdout.contains(E2E.apiKey)
    let inAnswers = daemon.answers.contains(E2E.apiKey)
    #expect(!inStderr, "the API key appeared in slotgated's stderr", sourceLocation: sourceLocation)
    #expect(!inStdout, "the API key appeared in slotgated's stdout", sourceLocation: sourceLocation)
    #expect(!inAnswers, "the API key appeared in an answer of slotgated", sourceLocation: sourceLocation)
}

/// Polls `check` until it is true, every `interval`, failing after `timeout`.
func eventually(
    _ what: String,
    timeout: Duration = .seconds(10),
    interval: Duration = .milliseconds(40),
    _ check: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await check() { return }
        try await Task.sleep(for: interval)
    }
    throw HarnessError("timed out after \(timeout) waiting for \(what)")
}

/// Checks an error answer against socket-api.md "Errors": the status, the body
/// `{"error": {"code", "message"}}` with nothing else, and `Retry-After` (whole seconds) on 503.
func expectError(
    _ reply: HTTPReply,
    _ status: Int,
    _ code: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(reply.status == status, "expected \(status) \(code), got \(reply)", sourceLocation: sourceLocation)
    #expect(errorShapeProblem(reply) == nil, "\(errorShapeProblem(reply) ?? "")", sourceLocation: sourceLocation)
    let actual = (reply.json?["error"] as? [String: Any])?["code"] as? String
    #expect(actual == code, "expected code \(code), got \(reply)", sourceLocation: sourceLocation)
}

/// What is wrong with an error answer's shape, or nil when it is the documented one.
func errorShapeProblem(_ reply: HTTPReply) -> String? {
    guard !(200..<300).contains(reply.status) else { return "a 2xx is not an error: \(reply)" }
    guard let json = reply.json else { return "the body is not a JSON object: \(reply)" }
    guard json.count == 1, let error = json["error"] as? [String: Any] else { return "the body is not {\"error\": {...}}: \(reply)" }
    guard Set(error.keys) == ["code", "message"] else { return "error has keys \(error.keys.sorted()), not code and message: \(reply)" }
    guard let code = error["code"] as? String, !code.isEmpty, code.allSatisfy({ $0.isLowercase || $0 == "_" }) else {
        return "error.code is not a snake_case string: \(reply)"
    }
    guard let message = error["message"] as? String, !message.isEmpty else { return "error.message is not a sentence: \(reply)" }
    if reply.status == 503 {
        guard let retry = reply.header("Retry-After"), let seconds = Int(retry), seconds >= 0 else {
            return "a 503 without Retry-After in whole seconds: \(reply) headers \(reply.headers)"
        }
    }
    return nil
}

/// The `"error"."code"` of an answer.
func errorCode(_ reply: HTTPReply) -> String? {
    (reply.json?["error"] as? [String: Any])?["code"] as? String
}

/// Milliseconds since the epoch of an ISO 8601 timestamp such as `2026-11-29T12:00:03.480Z`.
func epochMilliseconds(_ text: String?) -> Double? {
    guard let text else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    if let date = formatter.date(from: text) { return date.timeIntervalSince1970 * 1000 }
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text).map { $0.timeIntervalSince1970 * 1000 }
}
