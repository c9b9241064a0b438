//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

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
    }
}
