//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Forwarded answers pass on as the platform sends them, whatever their size: a session resource or an event
    /// stream is neither held whole nor cut at a size, a client that hangs up ends the platform's request, and a
    /// platform that stops sending ends the answer visibly.
    @Suite("Streamed pass-through")
    struct StreamedPassThrough {
        static let session = "5b0c7a52-3f7e-4c59-9d3e-0a1b2c3d4e5f"

        @Test("each part of a resource reaches the client before the platform sends the next")
        func partByPart() async throws {
            try await withStack { simulator, daemon, _ in
                let part = 64 * 1024
                try await simulator.defineResource(session: Self.session, name: "log", bytes: 3 * part, parts: 3, held: true)
                let fd = try RawSocket.connected(daemon.socketPath, timeout: .seconds(10))
                defer { close(fd) }
                try Self.send(fd, "GET /api/v2/sessions/\(Self.session)/resources/log HTTP/1.1\r\nHost: slotgate\r\n\r\n")
                // Each part is read before the next is released: an answer held whole would never come.
                var received = try await Self.read(fd, untilBody: part)
                #expect(received.head.contains("200 OK"), "\(received.head)")
                #expect(received.head.lowercased().contains("content-length: \(3 * part)"), "\(received.head)")
                try await simulator.releaseResource(session: Self.session, name: "log")
                received = try await Self.read(fd, untilBody: 2 * part, after: received)
                try await simulator.releaseResource(session: Self.session, name: "log")
                received = try await Self.read(fd, untilBody: 3 * part, after: received)
                #expect(received.body.count == 3 * part)
                #expect(Self.badByte(received.body) == nil, "byte \(Self.badByte(received.body) ?? -1) differs")
                try await eventually("the simulator wrote the whole resource") {
                    try await simulator.resourceDownloads().completed == 1
                }
            }
        }

        @Test("an answer larger than the daemon's own read limit passes whole, with its Content-Length")
        func largeAnswer() async throws {
            try await withStack { simulator, daemon, _ in
                let bytes = 12 * 1024 * 1024 + 7
                try await simulator.defineResource(session: Self.session, name: "video", bytes: bytes, parts: 24)
                // Sent without the harness's recording: the key check would search 12 MiB of pattern as text.
                let url = try E2EHTTP.unixURL(daemon.socketPath, "/api/v2/sessions/\(Self.session)/resources/video")
                let reply = try await E2EHTTP.send(.GET, url: url, headers: [("Connection", "close")], timeout: .seconds(60))
                daemon.recordForKeyCheck(HTTPReply(status: reply.status, headers: reply.headers, body: []))
                #expect(reply.status == 200)
                #expect(reply.header("content-length") == String(bytes))
                #expect(reply.body.count == bytes)
                #expect(Self.badByte(reply.body) == nil, "byte \(Self.badByte(reply.body) ?? -1) differs")
            }
        }

        @Test("a client that hangs up halfway ends the request to the platform")
        func hangUpEndsUpstream() async throws {
            try await withStack { simulator, daemon, _ in
                // 48 MiB in two parts: more than any socket buffers between the simulator and the client.
                try await simulator.defineResource(session: Self.session, name: "dump", bytes: 48 << 20, parts: 2)
                let fd = try RawSocket.connected(daemon.socketPath, timeout: .seconds(10))
                try Self.send(fd, "GET /api/v2/sessions/\(Self.session)/resources/dump HTTP/1.1\r\nHost: slotgate\r\n\r\n")
                _ = try await Self.read(fd, untilBody: 1)
                close(fd)
                try await eventually("the simulator's write failed: the daemon ended its request", timeout: .seconds(20)) {
                    try await simulator.resourceDownloads().aborted == 1
                }
                #expect(try await simulator.resourceDownloads().completed == 0)
            }
        }

        @Test("a platform that stops sending ends the answer after upstream.timeout_s; an event stream is not cut")
        func stalledPlatform() async throws {
            try await withStack(environment: ["SLOTGATE_UPSTREAM_TIMEOUT_S": "1"]) { simulator, daemon, _ in
                let part = 4096
                try await simulator.defineResource(session: Self.session, name: "stuck", bytes: 2 * part, parts: 2, held: true)
                try await simulator.defineResource(
                    session: Self.session,
                    name: "events",
                    bytes: 2 * part,
                    parts: 2,
                    held: true,
                    contentType: "text/event-stream"
                )
                let stream = try RawSocket.connected(daemon.socketPath, timeout: .seconds(10))
                defer { close(stream) }
                try Self.send(
                    stream,
                    "GET /api/v2/sessions/\(Self.session)/resources/events HTTP/1.1\r\nHost: slotgate\r\nAccept: text/event-stream\r\n\r\n"
                )
                let first = try await Self.read(stream, untilBody: part)

                let stuck = try RawSocket.connected(daemon.socketPath, timeout: .seconds(10))
                defer { close(stuck) }
                try Self.send(stuck, "GET /api/v2/sessions/\(Self.session)/resources/stuck HTTP/1.1\r\nHost: slotgate\r\n\r\n")
                let started = ContinuousClock.now
                let cut = try await RawSocket.onThread { RawSocket.readToClose(stuck) }
                let took = ContinuousClock.now - started
                #expect(cut.closedByPeer, "the daemon closed the connection")
                let reply = try #require(Self.parse(cut.bytes))
                #expect(reply.head.hasPrefix("HTTP/1.1 200"), "\(reply.head)")
                #expect(reply.head.lowercased().contains("content-length: \(2 * part)"), "\(reply.head)")
                #expect(reply.body.count == part, "the client sees the body cut short of its Content-Length (\(reply.body.count) bytes)")
                #expect(took < .seconds(8), "cut after \(took)")
                try await eventually("the daemon says why it cut the answer") {
                    daemon.child.stderr.text.contains("the platform stopped sending a forwarded answer")
                }

                // The event stream has waited longer than the idle limit (the other answer was cut meanwhile) and is
                // still open: its next part arrives when the platform sends it.
                try await simulator.releaseResource(session: Self.session, name: "events")
                let whole = try await Self.read(stream, untilBody: 2 * part, after: first)
                #expect(Self.badByte(whole.body) == nil)
            }
        }

        @Test("a client that hangs up on an event stream ends the platform's request while the platform sends nothing")
        func hangUpOnQuietEventStream() async throws {
            try await withStack { simulator, daemon, _ in
                // Parts larger than the socket buffers. The simulator's write returns once a part is queued, so the
                // third part is the one whose write fails when nobody reads.
                let part = 16 << 20
                try await simulator.defineResource(
                    session: Self.session,
                    name: "events",
                    bytes: 3 * part,
                    parts: 3,
                    held: true,
                    contentType: "text/event-stream"
                )
                let fd = try RawSocket.connected(daemon.socketPath, timeout: .seconds(10))
                try Self.send(fd, "GET /api/v2/sessions/\(Self.session)/resources/events HTTP/1.1\r\nHost: slotgate\r\n\r\n")
                _ = try await Self.read(fd, untilBody: part)
                close(fd)
                try await eventually("the daemon noticed the hang-up while the platform was quiet") {
                    daemon.child.stderr.text.contains("the client hung up on a forwarded event stream")
                }
                try await simulator.releaseResource(session: Self.session, name: "events", parts: 2)
                try await eventually("the simulator's write found no reader", timeout: .seconds(30)) {
                    try await simulator.resourceDownloads() != (0, 0)
                }
                let downloads = try await simulator.resourceDownloads()
                #expect(downloads == (0, 1), "\(downloads)")
            }
        }

        // MARK: Helpers

        private static func send(_ fd: Int32, _ text: String) throws {
            let bytes = Array(text.utf8)
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == bytes.count else { throw HarnessError("send failed: errno \(errno)") }
        }

        /// Reads until the answer's body (identity or chunked framing undone) holds `count` bytes; the socket's read
        /// timeout (10 s) ends a wait for data that does not come.
        private static func read(
            _ fd: Int32,
            untilBody count: Int,
            after earlier: (head: String, body: [UInt8], raw: [UInt8]) = ("", [], [])
        ) async throws -> (head: String, body: [UInt8], raw: [UInt8]) {
            try await RawSocket.onThread {
                var raw = earlier.raw
                var buffer = [UInt8](repeating: 0, count: 65_536)
                while true {
                    if let parsed = parse(raw), parsed.body.count >= count { return (parsed.head, parsed.body, raw) }
                    let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    guard got > 0 else {
                        throw HarnessError("the connection ended or stalled after \(parse(raw)?.body.count ?? 0) body bytes; wanted \(count)")
                    }
                    raw.append(contentsOf: buffer[0..<got])
                }
            }
        }

        /// The head and the body read so far; a chunked body is decoded as far as it goes.
        private static func parse(_ raw: [UInt8]) -> (head: String, body: [UInt8])? {
            guard let headEnd = raw.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
            let head = String(decoding: raw[..<headEnd.lowerBound], as: UTF8.self)
            let rest = Array(raw[headEnd.upperBound...])
            guard head.lowercased().contains("transfer-encoding: chunked") else { return (head, rest) }
            var body: [UInt8] = []
            var index = 0
            while let lineEnd = rest[index...].firstRange(of: Array("\r\n".utf8)) {
                let sizeText = String(decoding: rest[index..<lineEnd.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size > 0 else { break }
                let start = lineEnd.upperBound
                let available = min(size, rest.count - start)
                body += rest[start..<start + available]
                guard available == size, start + size + 2 <= rest.count else { break }
                index = start + size + 2
            }
            return (head, body)
        }

        /// The first byte that is not the simulator's pattern (`i % 251`), or nil. Compared by blocks with memcmp:
        /// byte by byte, a debug build takes seconds for a few MiB.
        private static func badByte(_ body: [UInt8]) -> Int? {
            var pattern = (0..<251).map { UInt8($0) }
            while pattern.count < body.count { pattern += pattern }
            let same = body.withUnsafeBytes { got in
                pattern.withUnsafeBytes { want in
                    guard let got = got.baseAddress, let want = want.baseAddress else { return true }
                    return memcmp(got, want, body.count) == 0
                }
            }
            if same { return nil }
            return body.indices.first { body[$0] != pattern[$0] }
        }
    }
}
