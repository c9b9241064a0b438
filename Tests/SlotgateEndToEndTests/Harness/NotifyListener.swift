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

/// A stand-in for systemd's notification socket: a Unix datagram socket the daemon finds in `NOTIFY_SOCKET`.
/// Every datagram is kept with the time it arrived. When the first `READY=1` arrives, the listener tries to
/// connect to the API socket at once, so a test can tell whether readiness came before the socket accepted.
final class NotifyListener: Sendable {
    /// One datagram: its `NAME=value` lines and when it arrived.
    struct Message: Sendable, CustomStringConvertible {
        let at: ContinuousClock.Instant
        let lines: [String]

        func has(_ line: String) -> Bool { lines.contains(line) }

        func value(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }

        var description: String { lines.joined(separator: "\\n") }
    }

    let path: String
    /// Whether the API socket accepted a connection when the first READY=1 arrived (nil: not yet, or no probe).
    let readyProbe = Locked<Bool?>(nil)
    private let received = Locked<[Message]>([])
    private let descriptor: CInt
    private let stopped = Atomic<Bool>(false)

    /// Binds the socket and starts reading.
    /// - Parameters:
    ///   - path: where to bind.
    ///   - socketPath: the API socket to probe when READY=1 arrives, or nil.
    init(path: String, probing socketPath: String?) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket(AF_UNIX, SOCK_DGRAM): errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw HarnessError("bind \(path): errno \(errno)") }
        // A receive timeout lets the reader notice close().
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in readLoop(probing: socketPath) }
        thread.start()
    }

    /// `NOTIFY_SOCKET` for the daemon, plus `upstream.simulate` so no simulator process is needed.
    var environment: [String: String] {
        ["NOTIFY_SOCKET": path, "SLOTGATE_UPSTREAM_SIMULATE": "true"]
    }

    /// Every datagram so far, in order.
    var messages: [Message] { received.value }

    /// Waits for a datagram (after `after`, if given) that satisfies `matches`.
    @discardableResult
    func waitFor(
        _ what: String,
        after: Message? = nil,
        timeout: Duration = .seconds(10),
        _ matches: @escaping (Message) -> Bool
    ) async throws -> Message {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let candidates = messages.filter { message in after.map { message.at > $0.at } ?? true }
            if let found = candidates.first(where: matches) { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw HarnessError("no \(what) on NOTIFY_SOCKET within \(timeout); received:\n\(messages.map(\.description).joined(separator: "\n"))")
    }

    /// Stops reading and removes the socket.
    func close() {
        stopped.store(true, ordering: .relaxed)
        unlink(path)
    }

    private func readLoop(probing socketPath: String?) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .relaxed) {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let text = String(decoding: buffer[0..<count], as: UTF8.self)
            let message = Message(at: .now, lines: text.split(separator: "\n").map(String.init))
            if message.has("READY=1"), let socketPath, readyProbe.value == nil {
                let accepted = Self.connects(to: socketPath)
                readyProbe.update { $0 = accepted }
            }
            received.update { $0.append(message) }
        }
        Glibc.close(descriptor)
    }

    private static func connects(to path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        } == 0
    }
}
