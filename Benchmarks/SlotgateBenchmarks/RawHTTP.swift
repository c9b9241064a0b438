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

/// A minimal blocking HTTP/1.1 client on one keep-alive connection (Unix socket or loopback TCP), so the
/// benchmarks measure the daemon rather than a client library.
final class RawHTTP {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to a Unix socket.
    init(unixPath path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Connects to 127.0.0.1:port.
    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect port \(port): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Sends a request without reading the answer (for parking thousands of waiters).
    func send(_ method: String, _ path: String, body: String = "", headers: [String: String] = [:]) throws {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: \(body.utf8.count)\r\n"
        if !body.isEmpty { text += "Content-Type: application/json\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n" + body
        let bytes = Array(text.utf8)
        let total = bytes.count
        var offset = 0
        while offset < total {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + offset }, total - offset) }
            guard written > 0 else { throw Failure(description: "write: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Sends a request and reads its answer.
    func request(_ method: String, _ path: String, body: String = "", headers: [String: String] = [:]) throws -> (status: Int, body: String) {
        try send(method, path, body: body, headers: headers)
        return try readResponse()
    }

    /// Reads one answer with a Content-Length body. Works on the bytes, with one read buffer for the connection's
    /// life: the client's own cost stays small beside the daemon's in a round trip.
    func readResponse() throws -> (status: Int, body: String) {
        var headEnd = find(headTerminator, from: 0)
        while headEnd == nil {
            let searched = max(0, buffer.count - 3)
            try fill()
            headEnd = find(headTerminator, from: searched)
        }
        guard let end = headEnd else { throw Failure(description: "no head") }
        // "HTTP/1.1 201 ...": the status is bytes 9..<12.
        guard end >= 12 else { throw Failure(description: "short status line") }
        let status = buffer[9..<12].reduce(0) { $0 * 10 + Int($1) - 48 }
        let length = contentLength(in: 0..<end)
        let bodyStart = end + 4
        while buffer.count < bodyStart + length { try fill() }
        let body = String(decoding: buffer[bodyStart..<(bodyStart + length)], as: UTF8.self)
        buffer.removeFirst(bodyStart + length)
        return (status, body)
    }

    private let headTerminator: [UInt8] = [13, 10, 13, 10]
    private var chunk = [UInt8](repeating: 0, count: 65_536)

    private func find(_ pattern: [UInt8], from start: Int) -> Int? {
        guard buffer.count >= pattern.count + start else { return nil }
        for index in start...(buffer.count - pattern.count) where buffer[index] == pattern[0] {
            if buffer[index..<(index + pattern.count)].elementsEqual(pattern) { return index }
        }
        return nil
    }

    /// The value of the head's Content-Length field (case-insensitive name), 0 without one.
    private func contentLength(in head: Range<Int>) -> Int {
        let name = Array("content-length:".utf8)
        var index = head.lowerBound
        while index < head.upperBound {
            // At the start of a line.
            if head.upperBound - index > name.count,
                zip(buffer[index..<(index + name.count)], name).allSatisfy({ ($0 | 0x20) == $1 || $0 == $1 })
            {
                var value = 0
                var cursor = index + name.count
                while cursor < head.upperBound, buffer[cursor] == 32 { cursor += 1 }
                while cursor < head.upperBound, (48...57).contains(buffer[cursor]) {
                    value = value * 10 + Int(buffer[cursor]) - 48
                    cursor += 1
                }
                return value
            }
            while index < head.upperBound, buffer[index] != 10 { index += 1 }
            index += 1
        }
        return 0
    }

    private func fill() throws {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { throw Failure(description: "connection closed") }
        buffer.append(contentsOf: chunk[0..<count])
    }
}

final class Child {
    let process = Process()
    let logPath: String

    init(_ executable: String, _ arguments: [String], environment: [String: String], logPath: String) throws {
        self.logPath = logPath
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Resident memory in KiB, from /proc.
    var residentKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds`.
func waitUntil(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// Runs `count` blocking jobs on their own threads and waits for all of them.
func onThreads(_ count: Int, _ job: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            job(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}
