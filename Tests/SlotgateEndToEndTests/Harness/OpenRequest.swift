//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A request left open on a connection of its own: a long-poll or a streamed wait whose answer the test reads when
/// it wants (a streamed answer line by line, undoing the chunked coding), and whose connection the test can close
/// to play a client that goes away. The reads block: call them through ``RawSocket/onThread(_:)``, one at a time.
final class OpenRequest: Sendable {
    private struct Reader: Sendable {
        /// Bytes received and not yet taken apart.
        var received: [UInt8] = []
        /// The answer's head, once read.
        var head: HTTPReply?
        /// Body bytes with the chunked coding undone, not yet returned as lines.
        var body: [UInt8] = []
        /// The last chunk (or the end of the connection) has been read.
        var bodyEnded = false
    }

    private let fd: Int32
    private let closed = Atomic<Bool>(false)
    private let reader = Mutex(Reader())

    /// Connects to the socket at `path` and sends `request` whole.
    init(path: String, request: [UInt8]) throws {
        fd = try RawSocket.connected(path, timeout: .seconds(10))
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else {
                Glibc.close(fd)
                throw HarnessError("sending the request failed: errno \(errno)")
            }
            offset += sent
        }
    }

    /// `POST /v1/leases` with `body` on a connection of its own; `?stream=1` when `streamed`.
    static func acquire(path: String, body: String, streamed: Bool) throws -> OpenRequest {
        let target = streamed ? "/v1/leases?stream=1" : "/v1/leases"
        let text = "POST \(target) HTTP/1.1\r\nHost: slotgate\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        return try OpenRequest(path: path, request: Array(text.utf8))
    }

    deinit {
        close()
    }

    /// Closes the connection: the daemon sees its client go away.
    func close() {
        guard closed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        Glibc.close(fd)
    }

    /// The answer's status and headers (body empty), read within `timeout`.
    func head(timeout: Duration = .seconds(10)) throws -> HTTPReply {
        let deadline = ContinuousClock.now + timeout
        return try reader.withLock { reader in try readHead(&reader, until: deadline) }
    }

    /// A whole answer with a `Content-Length` (a long-poll's), read within `timeout`.
    func reply(timeout: Duration = .seconds(10)) throws -> HTTPReply {
        let deadline = ContinuousClock.now + timeout
        return try reader.withLock { reader in
            var reply = try readHead(&reader, until: deadline)
            let length = reply.header("content-length").flatMap { Int($0) } ?? 0
            while reader.received.count < length {
                guard try fill(&reader, until: deadline) else { throw HarnessError("the connection closed inside the body") }
            }
            reply.body = Array(reader.received.prefix(length))
            reader.received.removeFirst(length)
            return reply
        }
    }

    /// The next line of a chunked (streamed) body without its newline, read within `timeout`; nil once the body
    /// has ended.
    func nextLine(timeout: Duration = .seconds(10)) throws -> String? {
        let deadline = ContinuousClock.now + timeout
        return try reader.withLock { reader in
            _ = try readHead(&reader, until: deadline)
            while true {
                if let newline = reader.body.firstIndex(of: 0x0A) {
                    let line = String(decoding: reader.body[..<newline], as: UTF8.self)
                    reader.body.removeFirst(newline + 1)
                    return line
                }
                if reader.bodyEnded { return nil }
                try readChunk(&reader, until: deadline)
            }
        }
    }

    // MARK: Reading

    private func readHead(_ reader: inout Reader, until deadline: ContinuousClock.Instant) throws -> HTTPReply {
        if let head = reader.head { return head }
        let separator = Array("\r\n\r\n".utf8)
        while true {
            if let end = reader.received.firstRange(of: separator), let reply = RawSocket.firstReply(Array(reader.received[..<end.upperBound])) {
                reader.received.removeFirst(end.upperBound)
                let head = HTTPReply(status: reply.status, headers: reply.headers, body: [])
                reader.head = head
                return head
            }
            guard try fill(&reader, until: deadline) else { throw HarnessError("the daemon closed the connection without an answer") }
        }
    }

    /// Takes one chunk (`SIZE\r\nBYTES\r\n`) off the received bytes into the body, reading more when needed.
    private func readChunk(_ reader: inout Reader, until deadline: ContinuousClock.Instant) throws {
        let crlf = Array("\r\n".utf8)
        while true {
            if let lineEnd = reader.received.firstRange(of: crlf) {
                let sizeText = String(decoding: reader.received[..<lineEnd.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else {
                    throw HarnessError("not a chunk size: \(sizeText.debugDescription)")
                }
                if size == 0 {
                    reader.bodyEnded = true
                    return
                }
                let needed = lineEnd.upperBound + size + 2
                if reader.received.count >= needed {
                    reader.body.append(contentsOf: reader.received[lineEnd.upperBound..<(lineEnd.upperBound + size)])
                    reader.received.removeFirst(needed)
                    return
                }
            }
            guard try fill(&reader, until: deadline) else {
                reader.bodyEnded = true
                return
            }
        }
    }

    /// Reads what has arrived into `received`; false when the daemon closed the connection. Throws when nothing
    /// arrives before `deadline`.
    private func fill(_ reader: inout Reader, until deadline: ContinuousClock.Instant) throws -> Bool {
        let left = ContinuousClock.now.duration(to: deadline)
        guard left > .zero else { throw HarnessError("nothing more arrived in time") }
        let microseconds = max(1000, left.components.seconds * 1_000_000 + left.components.attoseconds / 1_000_000_000_000)
        var value = timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 16_384)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            reader.received.append(contentsOf: buffer[0..<count])
            return true
        }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw HarnessError("nothing more arrived in time") }
        return false
    }
}
