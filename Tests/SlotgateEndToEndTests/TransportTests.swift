//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// HTTP/1.1 on the socket as clients with connection pools use it (socket-api.md "Transport").
    @Suite("Transport")
    struct Transport {
        static func request(_ method: String, _ path: String, _ body: String = "", extra: String = "") -> [UInt8] {
            Array(
                "\(method) \(path) HTTP/1.1\r\nHost: slotgate\r\nContent-Type: application/json\r\n\(extra)Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
                    .utf8
            )
        }

        @Test("a kept-alive connection is not closed after a lease answer unless the answer says Connection: close")
        func keepAliveAfterLeaseAnswer() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                // Ready comes before the first platform reading; a try-once request in between gets 503.
                try await daemon.waitForStatus("a platform reading") { ($0["upstream"] as? [String: Any])?["healthy"] as? Bool == true }
                let requests = [
                    Self.request("POST", "/v1/leases", #"{"holder":"pooled","wait_s":0}"#),
                    Self.request("POST", "/v1/leases", #"{"holder":"pooled","wait_s":0}"#),
                    Self.request("GET", "/v1/status"),
                    // Try once: with no Slotgate-Wait the proxy would wait the default 300 s for the held slot.
                    Self.request("POST", "/api/v2/sessions", #"{"agent":"h/x","queue":false}"#, extra: "Slotgate-Wait: 0\r\n"),
                    Self.request("GET", "/v1/leases"),
                ]
                let path = daemon.socketPath
                let (replies, closedEarly) = try await RawSocket.onThread { try RawSocket.keepAlive(path: path, requests: requests) }
                for (reply, request) in zip(replies, requests) { daemon.record(reply, request: request) }
                let statuses = replies.map(\.status)
                if closedEarly, let last = replies.last {
                    let announced = last.header("Connection")?.lowercased() == "close"
                    let answer = "answer \(replies.count) (\(last.status))"
                    #expect(announced, "the daemon closed the connection after \(answer) without Connection: close; statuses: \(statuses)")
                } else {
                    #expect(statuses == [201, 503, 200, 503, 200], "answers on one connection: \(statuses)")
                }
            }
        }

        @Test(
            "a client that half-closes after its request gets the answer of a try-once request, and a long-poll is withdrawn; the daemon closes both"
        )
        func halfClosedConnections() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                try await daemon.waitForStatus("a platform reading") { ($0["upstream"] as? [String: Any])?["healthy"] as? Bool == true }
                let path = daemon.socketPath
                // As `printf '…' | nc -U -N` sends them: the whole request, then shutdown(SHUT_WR).
                let exchanges: [(request: [UInt8], status: Int?, code: String?)] = [
                    (Self.request("POST", "/v1/leases", #"{"holder":"nc","wait_s":0}"#), 201, nil),
                    (Self.request("POST", "/v1/leases", #"{"holder":"nc","wait_s":0}"#), 503, "wait_timeout"),
                    (Self.request("GET", "/v1/status"), 200, nil),
                    // A long-poll for the held slot: withdrawn like a hang-up, no answer, the connection closed.
                    (Self.request("POST", "/v1/leases", #"{"holder":"nc","wait_s":30}"#), nil, nil),
                    (Self.request("POST", "/v1/leases?stream=1", #"{"holder":"nc","wait_s":30}"#), 200, nil),
                ]
                for (index, exchange) in exchanges.enumerated() {
                    let (bytes, closed) = try await RawSocket.onThread {
                        try RawSocket.exchangeNotingClose(path: path, bytes: exchange.request, halfClose: true, readTimeout: .seconds(5))
                    }
                    #expect(closed, "exchange \(index): the daemon left the half-closed connection open")
                    let reply = RawSocket.firstReply(bytes)
                    if let reply { daemon.record(reply, request: exchange.request) }
                    #expect(reply?.status == exchange.status, "exchange \(index): \(String(decoding: bytes, as: UTF8.self))")
                    if let code = exchange.code { #expect(reply?.text.contains("\"\(code)\"") == true, "exchange \(index): \(reply?.text ?? "")") }
                }
                // The withdrawn long-polls left no waiter behind, and the one grant is the only lease held.
                try await daemon.waitForStatus("no waiter left", timeout: .seconds(5)) { DaemonProcess.waiting($0) == 0 }
                #expect(DaemonProcess.slots(try await daemon.status(), "held_by_leases") == 1)
            }
        }

        /// The answers to `bytes` sent on one connection (then half-closed when asked), read in order, and whether
        /// the daemon closed the connection after them.
        static func answers(
            _ daemon: DaemonProcess,
            _ writes: [[UInt8]],
            pause: Duration = .zero,
            halfClose: Bool = false
        ) async throws -> (replies: [HTTPReply], closed: Bool) {
            let path = daemon.socketPath
            let (bytes, closed) = try await RawSocket.onThread { () -> ([UInt8], Bool) in
                guard writes.count > 1 else {
                    return try RawSocket.exchangeNotingClose(path: path, bytes: writes.first ?? [], halfClose: halfClose, readTimeout: .seconds(5))
                }
                // Several writes: the later ones come while the daemon answers the first.
                let fd = try RawSocket.connected(path, timeout: .seconds(5))
                defer { close(fd) }
                for (index, write) in writes.enumerated() {
                    if index > 0 { Thread.sleep(forTimeInterval: Double(pause.components.attoseconds) / 1e18 + Double(pause.components.seconds)) }
                    _ = write.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                if halfClose { shutdown(fd, Int32(SHUT_WR)) }
                return RawSocket.readToClose(fd)
            }
            var replies: [HTTPReply] = []
            var rest = bytes[...]
            while case .answer(let reply, let consumed, _) = HTTPAnswerParser.parse(rest, atEOF: closed) {
                daemon.record(reply)
                replies.append(reply)
                rest = rest.dropFirst(consumed)
            }
            return (replies, closed)
        }

        @Test("requests pipelined before a half-close are each answered, in order, then the connection closes")
        func pipelinedThenHalfClosed() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                try await daemon.waitForStatus("a platform reading") { ($0["upstream"] as? [String: Any])?["healthy"] as? Bool == true }
                // Once the daemon dropped every request after the first when the half-close came with them.
                let requests =
                    Self.request("GET", "/v1/status") + Self.request("POST", "/v1/leases", #"{"holder":"p","wait_s":0}"#)
                    + Self.request("GET", "/v1/leases/lse_01J9Z3ABCDEFGHJKMNPQRSTVWX") + Self.request("POST", "/v1/leases", #"{"wait_s":0}"#)
                let (replies, closed) = try await Self.answers(daemon, [requests], halfClose: true)
                #expect(replies.map(\.status) == [200, 201, 404, 503], "answers: \(replies)")
                #expect(closed, "the connection was left open after the last answer")
            }
        }

        @Test("requests before an unparseable one are answered although more bytes follow it; then 400 and the connection closes")
        func bytesAfterAnUnparseableRequest() async throws {
            try await withStack { simulator, daemon, _ in
                // A slow platform keeps the first answer pending while the rest arrives.
                try await simulator.setFaults(["slow_milliseconds": 400, "routes": ["list"]])
                let first = Self.request("GET", "/api/v2/sessions") + Array("GARBAGE\r\n\r\n".utf8)
                // Once these bytes, read after the parse error, closed the connection before the first answer.
                let more = Array("MORE GARBAGE\r\n\r\n".utf8)
                let (replies, closed) = try await Self.answers(daemon, [first, more], pause: .milliseconds(100))
                #expect(replies.map(\.status) == [200, 400], "answers: \(replies)")
                if let last = replies.last { expectError(last, 400, "bad_request") }
                #expect(closed)
            }
        }

        @Test("a request to upgrade is answered with Connection: close, then the connection closes (the parser reads no more)")
        func upgradeRequest() async throws {
            try await withStack { _, daemon, _ in
                let upgrade = Self.request("GET", "/v1/status", extra: "Connection: Upgrade\r\nUpgrade: websocket\r\n")
                // Once the answer said nothing, the next request was never read, and the connection idled 10 s.
                let (replies, closed) = try await Self.answers(daemon, [upgrade + Self.request("GET", "/v1/status")])
                #expect(replies.map(\.status) == [200], "answers: \(replies)")
                #expect(replies.first?.header("Connection")?.lowercased() == "close", "\(replies.first?.headers ?? [:])")
                #expect(closed, "the connection was left open")
            }
        }

        @Test("an HTTP/1.0 request without keep-alive is answered with Connection: close, then the connection closes")
        func http10WithoutKeepAlive() async throws {
            try await withStack { _, daemon, _ in
                // Once the connection stayed open (a client reading to its end waited 10 s), and a request after it
                // was refused 400 as data after the end of the connection.
                let requests = Array("GET /v1/status HTTP/1.0\r\n\r\n".utf8) + Self.request("GET", "/v1/status")
                let (replies, closed) = try await Self.answers(daemon, [requests])
                #expect(replies.map(\.status) == [200], "answers: \(replies)")
                #expect(replies.first?.header("Connection")?.lowercased() == "close", "\(replies.first?.headers ?? [:])")
                #expect(closed, "the connection was left open")
                let keptAlive =
                    Array("GET /v1/status HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".utf8)
                    + Self.request("GET", "/v1/status", extra: "Connection: close\r\n")
                let (both, _) = try await Self.answers(daemon, [keptAlive])
                #expect(both.map(\.status) == [200, 200], "with keep-alive: \(both)")
            }
        }

        @Test("a Transfer-Encoding other than chunked alone gets 400 bad_request and takes no slot")
        func otherTransferCodings() async throws {
            try await withStack { _, daemon, _ in
                try await daemon.waitForStatus("a platform reading") { ($0["upstream"] as? [String: Any])?["healthy"] as? Bool == true }
                for coding in ["gzip, chunked", "chunked, chunked"] {
                    // Once `gzip, chunked` was read as plain JSON and granted a lease.
                    let head = "POST /v1/leases HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: \(coding)\r\n\r\n"
                    let (replies, closed) = try await Self.answers(daemon, [Array((head + "c\r\n{\"wait_s\":0}\r\n0\r\n\r\n").utf8)])
                    #expect(replies.count == 1, "\(coding): \(replies)")
                    if let reply = replies.first { expectError(reply, 400, "bad_request") }
                    #expect(closed, "\(coding): the connection was left open")
                }
                #expect(DaemonProcess.slots(try await daemon.status(), "held_by_leases") == 0)
            }
        }
    }
}
