//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a fuzz run saw, shared by its workers.
final class FuzzTally: Sendable {
    private struct State {
        var sent = 0
        var answers: [String: Int] = [:]
        var failures: [String] = []
        var failureCount = 0
        var leases: [String] = []
        var allLeases: Set<String> = []
    }

    private let state = Locked(State())

    var sent: Int { state.value.sent }
    var answers: [String: Int] { state.value.answers }
    var failures: [String] { state.value.failures }
    var failureCount: Int { state.value.failureCount }
    /// Every lease the fuzzer was granted.
    var leases: Set<String> { state.value.allLeases }
    /// The latest leases granted, to aim requests at.
    var recentLeases: [String] { state.value.leases }

    func sent(_ count: Int) { state.update { $0.sent += count } }

    func answered(_ key: String) { state.update { $0.answers[key, default: 0] += 1 } }

    func failed(_ text: String) {
        state.update {
            $0.failureCount += 1
            if $0.failures.count < 40 { $0.failures.append(text) }
        }
    }

    func granted(_ id: String) {
        state.update {
            guard $0.allLeases.insert(id).inserted else { return }
            $0.leases.append(id)
            if $0.leases.count > 32 { $0.leases.removeFirst() }
        }
    }
}

/// Sends ``FuzzScript``s to the daemon over raw connections and checks every answer.
struct FuzzRunner {
    let path: String
    let tally: FuzzTally
    /// Recorded for the key check.
    let record: @Sendable (HTTPReply) -> Void
    /// How long an answer may take (a try-once answer takes milliseconds; the longest wait asked for is 0.2 s).
    var answerTimeout: Duration = .seconds(20)

    /// Runs scripts until `requests` have been sent. Blocking: call it on a thread of its own.
    func run(worker: Int, seed: UInt64, requests: Int) {
        var random = SplitMix64(seed: seed &+ UInt64(worker) &* 0x5851_F42D_4C95_7F2D)
        var grammar = FuzzGrammar()
        var sent = 0
        var index = 0
        while sent < requests {
            grammar.leases = tally.recentLeases
            let script = grammar.script(using: &random)
            sent += run(script, label: "w\(worker)#\(index)")
            index += 1
        }
    }

    /// Sends one script on one connection and checks what came back; returns how many requests were sent.
    func run(_ script: FuzzScript, label: String) -> Int {
        let fd: Int32
        do {
            fd = try RawSocket.connected(path, timeout: answerTimeout)
        } catch {
            tally.failed("\(label): \(error)")
            return 0
        }
        defer { close(fd) }
        var pending: [UInt8] = []
        var answers: [HTTPReply] = []
        var closedByPeer = false
        var malformed: String?
        var sent = 0

        /// Reads until `count` answers are in, the peer closes, or the timeout passes.
        func read(until count: Int) {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while answers.count < count, malformed == nil {
                let index = answers.count
                let bodiless = index < script.requests.count && script.requests[index].bodiless
                switch HTTPAnswerParser.parse(pending[...], bodiless: bodiless, atEOF: closedByPeer) {
                case .answer(let reply, let consumed, _):
                    pending.removeFirst(consumed)
                    answers.append(reply)
                    continue
                case .malformed(let reason):
                    malformed = reason
                    return
                case .incomplete:
                    break
                }
                if closedByPeer { return }
                let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if got > 0 {
                    pending.append(contentsOf: buffer[0..<got])
                } else if got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    closedByPeer = true
                } else if errno != EINTR {
                    return  // timed out
                }
            }
        }

        /// Waits for the close that must follow a `Connection: close` answer; false when bytes or nothing came.
        func closesAfter(_ head: Bool) -> Bool {
            // The 400 to a HEAD request that cannot be parsed has a body (the parser does not vouch for its method);
            // it closes the connection, so no client reads past it.
            guard pending.isEmpty || head else { return false }
            if closedByPeer { return true }
            var byte: UInt8 = 0
            let got = recv(fd, &byte, 1, 0)
            // Closed, or reset (a Unix socket closed with unread data in it is reset).
            closedByPeer = got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return closedByPeer
        }

        switch script.delivery {
        case .oneByOne:
            for (index, request) in script.requests.enumerated() {
                guard !closedByPeer, answers.count == index, malformed == nil else { break }
                if answers.last?.header("connection")?.lowercased().contains("close") == true { break }
                if request.summary.hasPrefix("half-closed") { break }
                Self.write(fd, request.bytes)
                sent += 1
                read(until: index + 1)
            }
        case .pipelined, .halfClosed:
            Self.write(fd, script.requests.flatMap(\.bytes))
            sent = script.requests.count
            if script.delivery == .halfClosed { shutdown(fd, Int32(SHUT_WR)) }
            read(until: script.requests.count)
        }
        tally.sent(sent)
        let read = "\(answers.count) answers, then \(pending.count) bytes \(String(decoding: pending.prefix(120), as: UTF8.self).debugDescription)"
        check(
            script,
            sent: sent,
            answers: answers,
            malformed: malformed,
            closedByPeer: closedByPeer,
            closesAfter: closesAfter,
            label: label + " [\(read)]"
        )
        return sent
    }

    private func check(
        _ script: FuzzScript,
        sent: Int,
        answers: [HTTPReply],
        malformed: String?,
        closedByPeer: Bool,
        closesAfter: (Bool) -> Bool,
        label: String
    ) {
        let how = "\(script.delivery): " + script.requests.map { String($0.summary.prefix(50)) }.joined(separator: " | ")
        for (index, request) in script.requests.prefix(sent).enumerated() {
            let where_ = "\(label) (\(how)) request \(index + 1) \(request.summary.prefix(120))"
            guard index < answers.count else {
                if let malformed {
                    tally.failed("\(where_): a malformed answer: \(malformed)")
                } else if !closedByPeer {
                    tally.failed("\(where_): no answer within \(answerTimeout), the connection still open")
                } else if request.unreadable {
                    tally.answered("closed without an answer (unreadable framing)")
                } else if script.delivery == .halfClosed, request.waits {
                    tally.answered("closed without an answer (a waiting request, half-closed)")
                } else if request.waits, script.requests[index...].contains(where: \.mayBeUnparseable) {
                    // A request that waits for a slot is withdrawn when what follows it cannot be parsed: the client
                    // can send nothing more (HangUpWatcher). A streamed answer is cut short.
                    tally.answered("closed without an answer (a waiting request, unreadable framing after it)")
                } else {
                    tally.failed("\(where_): the connection closed without an answer")
                }
                return
            }
            let reply = answers[index]
            record(reply)
            tally.answered(Self.label(reply, for: request))
            // A 201 through the proxy is the platform's session, whose id is no lease's.
            if reply.status == 201, let id = reply.json?["id"] as? String, id.hasPrefix("lse_") { tally.granted(id) }
            if let id = reply.header("slotgate-lease") { tally.granted(id) }
            if reply.header("content-type")?.contains("ndjson") == true {
                for line in reply.body.split(separator: UInt8(ascii: "\n")) {
                    let event = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any]
                    if let id = (event?["lease"] as? [String: Any])?["id"] as? String { tally.granted(id) }
                }
            }
            if request.bodiless {
                // No body to read the code from: the status must be one of a result or of the error table.
                let statuses = Set(E2E.documentedErrors.compactMap { Int($0.prefix(3)) })
                if !(200..<300).contains(reply.status), !statuses.contains(reply.status), request.expectation.isOwnAnswer {
                    tally.failed("\(where_): \(reply.status) is not a status of the error table")
                    return
                }
            } else if let problem = request.expectation.problem(with: reply) {
                tally.failed("\(where_): \(problem)")
                return
            }
            let closes = reply.header("connection")?.lowercased().contains("close") == true
            if request.unreadable, !closes {
                tally.failed("\(where_): the answer to unreadable framing does not close the connection: \(reply)")
                return
            }
            if closes {
                if answers.count > index + 1 {
                    tally.failed("\(where_): answered after an answer that said Connection: close: \(answers[index + 1])")
                } else if !closesAfter(request.bodiless) {
                    tally.failed("\(where_): the connection did not close after Connection: close")
                }
                return
            }
        }
        if let malformed { tally.failed("\(label) (\(how)): a malformed answer after the last request: \(malformed)") }
        if answers.count > sent { tally.failed("\(label) (\(how)): \(answers.count) answers to \(sent) requests") }
    }

    /// How an answer is counted in the figures: its status and error code, `ok` for a result, `stream …` for a
    /// streamed one, `platform` for the platform's own answer passed through.
    static func label(_ reply: HTTPReply, for request: FuzzRequest) -> String {
        if request.bodiless { return "\(reply.status) (\(request.summary.prefix { $0 != " " }), no body)" }
        if reply.header("content-type")?.contains("ndjson") == true {
            let last =
                reply.body.split(separator: UInt8(ascii: "\n")).last.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) } as? [String: Any]
            let code = (last?["error"] as? [String: Any])?["code"] as? String
            return "\(reply.status) stream \(last?["event"] as? String ?? "?")\(code.map { " " + $0 } ?? "")"
        }
        if let code = errorCode(reply) { return "\(reply.status) \(code)" }
        if (200..<300).contains(reply.status) { return "\(reply.status) ok" }
        return "\(reply.status) \(request.expectation.isOwnAnswer ? "?" : "platform")"
    }

    /// Writes all of `bytes`, or as much as the daemon takes before it closes (an answer to a refused request).
    private static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent <= 0 { return }
            offset += sent
        }
    }
}
