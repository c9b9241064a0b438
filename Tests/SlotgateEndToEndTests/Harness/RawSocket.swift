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

/// Blocking byte-level exchanges with a Unix socket, for requests no HTTP client would send (truncated bodies,
/// huge headers, garbage). Run them through ``onThread(_:)`` so they never block the test's executor.
enum RawSocket {
    /// Runs blocking work on a thread of its own and returns its result.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    /// Connects, writes `bytes` (as much as the peer accepts), optionally half-closes, and reads until the peer
    /// closes or `readTimeout` passes without data. Returns everything read.
    static func exchange(path: String, bytes: [UInt8], halfClose: Bool = false, readTimeout: Duration = .seconds(5)) throws -> [UInt8] {
        try exchangeNotingClose(path: path, bytes: bytes, halfClose: halfClose, readTimeout: readTimeout).bytes
    }

    /// ``exchange(path:bytes:halfClose:readTimeout:)`` that also says whether the daemon closed the connection
    /// (true) or the read timed out with the connection still open (false).
    static func exchangeNotingClose(
        path: String,
        bytes: [UInt8],
        halfClose: Bool = false,
        readTimeout: Duration = .seconds(5)
    ) throws -> (bytes: [UInt8], closedByPeer: Bool) {
        let fd = try connected(path, timeout: readTimeout)
        defer { close(fd) }

        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { raw in
                send(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { break }  // the daemon closed early (413): read what it answered
            offset += sent
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        return readToClose(fd)
    }

    /// Reads until the peer closes or the socket's read timeout passes without data. Returns everything read and
    /// whether the peer closed (false: the read timed out with the connection still open).
    static func readToClose(_ fd: Int32) -> (bytes: [UInt8], closedByPeer: Bool) {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                answer.append(contentsOf: buffer[0..<count])
                continue
            }
            let timedOut = count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
            return (answer, !timedOut)
        }
    }

    /// Sends `requests` one after the other on one connection, reading each answer (by its Content-Length)
    /// before sending the next. Returns the answers read; fewer than the requests when the daemon closed the
    /// connection early.
    static func keepAlive(path: String, requests: [[UInt8]]) throws -> (replies: [HTTPReply], closedEarly: Bool) {
        let fd = try connected(path, timeout: .seconds(5))
        defer { close(fd) }
        var replies: [HTTPReply] = []
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        for request in requests {
            let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == request.count else { return (replies, true) }
            while true {
                if let reply = firstReply(pending), let headEnd = pending.firstRange(of: Array("\r\n\r\n".utf8)),
                    pending.count - headEnd.upperBound >= reply.body.count,
                    reply.header("content-length").flatMap({ Int($0) }) == reply.body.count
                {
                    pending.removeFirst(headEnd.upperBound + reply.body.count)
                    replies.append(reply)
                    break
                }
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return (replies, true) }
                pending.append(contentsOf: buffer[0..<count])
            }
        }
        return (replies, false)
    }

    /// A connected Unix stream socket with receive and send timeouts.
    static func connected(_ path: String, timeout: Duration) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw HarnessError("socket path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
            raw[pathBytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw HarnessError("connect(\(path)) failed: errno \(code)")
        }
        let milliseconds = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        var value = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// The first HTTP answer in `bytes`, or nil when there is none (the daemon closed without answering).
    static func firstReply(_ bytes: [UInt8]) -> HTTPReply? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = bytes.firstRange(of: separator) else { return nil }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        guard !lines.isEmpty else { return nil }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/"), let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = bytes[headEnd.upperBound...]
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            return HTTPReply(status: status, headers: headers, body: dechunked(rest))
        }
        let length = headers["content-length"].flatMap { Int($0) } ?? rest.count
        return HTTPReply(status: status, headers: headers, body: Array(rest.prefix(length)))
    }

    /// The whole chunks of a chunked body, up to its last chunk or to where the bytes stop (a streamed answer that
    /// the daemon ended by closing the connection, as it does when the client hangs up).
    private static func dechunked(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var body: [UInt8] = []
        var offset = bytes.startIndex
        while let lineEnd = bytes[offset...].firstRange(of: [13, 10]) {
            let sizeText = String(decoding: bytes[offset..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText, radix: 16), size > 0, bytes.endIndex - lineEnd.upperBound >= size else { break }
            body.append(contentsOf: bytes[lineEnd.upperBound..<lineEnd.upperBound + size])
            offset = lineEnd.upperBound + size
            guard bytes.endIndex - offset >= 2 else { break }
            offset += 2
        }
        return body
    }
}
