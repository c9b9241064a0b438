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
    /// One local user cannot take every connection: `socket.max_connections_per_uid`, with two real uids (root, which
    /// runs the tests, and `nobody`) on one daemon whose socket both may open (mode 0666).
    @Suite("Connection limits", .enabled(if: getuid() == 0, "switching to uid nobody needs root"))
    struct ConnectionLimits {
        /// A request head that never ends: the connection waits for the rest of its headers.
        static let unfinishedHead = Array("GET /v1/status HTTP/1.1\r\nHost: slotgate\r\nX-Never-Ends: ".utf8)

        /// `GET /v1/status` as uid nobody through curl; its status code.
        static func statusAsNobody(_ directory: TemporaryDirectory, socket: String) async throws -> String {
            let curl = try await LeaseOwnership.asNobody(
                directory,
                "/usr/bin/curl",
                ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--unix-socket", socket, "http://slotgate/v1/status"]
            )
            return curl.stdout.text
        }

        @Test("a uid at its limit gets 503 too_many_connections, beyond that its connections close at once; another uid is served")
        func oneUIDUntilRefused() async throws {
            let limit = 8
            try await withStack(config: "socket:\n  mode: 0666\n  max_connections_per_uid: \(limit)\n") { _, daemon, directory in
                chmod(directory.path, 0o755)
                let socket = daemon.socketPath
                // Root opens connections, each with a request head it does not finish yet, until well past the
                // limit and the refusals the daemon answers.
                let opened = limit + 64 + 16
                let descriptors = try await RawSocket.onThread { () -> [Int32] in
                    try (0..<opened).map { _ in
                        let fd = try RawSocket.connected(socket, timeout: .seconds(10))
                        _ = Self.unfinishedHead.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        return fd
                    }
                }
                defer { for fd in descriptors { close(fd) } }

                // While root holds them all, uid nobody is served.
                #expect(try await Self.statusAsNobody(directory, socket: socket) == "200", "another uid is served")

                // Root's heads end now: the first ones are served, the next are refused with the documented body,
                // the last were closed unanswered.
                let replies = try await RawSocket.onThread { () -> [HTTPReply?] in
                    descriptors.map { fd in
                        _ = Array("1\r\n\r\n".utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        return RawSocket.firstReply(RawSocket.readUntilAnswerOrClose(fd))
                    }
                }
                let served = replies.filter { $0?.status == 200 }.count
                let refused = replies.compactMap { $0 }.filter { $0.status == 503 }
                let unanswered = replies.filter { $0 == nil }.count
                #expect(served > 0 && served <= limit, "\(served) of root's connections were served; the limit is \(limit)")
                #expect(refused.count >= 60 && served + refused.count <= limit + 64, "\(refused.count) refusals, \(served) served")
                #expect(unanswered >= 16 && served + refused.count + unanswered == opened, "\(unanswered) closed unanswered")
                for reply in refused.prefix(3) {
                    expectError(reply, 503, "too_many_connections")
                    #expect(reply.header("Connection")?.lowercased() == "close")
                    daemon.record(reply, request: Self.unfinishedHead)
                }
                #expect(
                    refused.first.flatMap(errorMessage)?.contains("socket.max_connections_per_uid") == true,
                    "the message names the key: \(String(describing: refused.first))"
                )
                #expect(daemon.child.stderr.text.contains("a user reached its connection limit"), "the daemon logs the refusal")

                // Once root's connections close, root is served again.
                for fd in descriptors { shutdown(fd, Int32(SHUT_RDWR)) }
                try await eventually("root is served again", timeout: .seconds(10), interval: .milliseconds(50)) {
                    try await daemon.get("/v1/status").status == 200
                }
            }
        }

        @Test("1,000 connections that never finish their headers are closed by the header timeout; another uid is served meanwhile")
        func unfinishedHeadsAreClosed() async throws {
            // 1,000 descriptors here and in the daemon (which inherits the limit): raise the soft limit first.
            var limit = rlimit()
            getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            if limit.rlim_cur < 8192 {
                limit.rlim_cur = min(limit.rlim_max, 8192)
                setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
            }
            try #require(limit.rlim_cur >= 2048, "the open-file limit (\(limit.rlim_cur)) is too low for 1,000 connections")
            try await withStack(config: "socket:\n  mode: 0666\n  max_connections_per_uid: 2000\n") { _, daemon, directory in
                chmod(directory.path, 0o755)
                let socket = daemon.socketPath
                let count = 1000
                let opened = ContinuousClock.now
                let descriptors = try await RawSocket.onThread { () -> [Int32] in
                    try (0..<count).map { _ in
                        let fd = try RawSocket.connected(socket, timeout: .seconds(10))
                        _ = Self.unfinishedHead.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        return fd
                    }
                }
                defer { for fd in descriptors { close(fd) } }
                #expect(try await Self.statusAsNobody(directory, socket: socket) == "200", "another uid is served while 1,000 wait")
                #expect(try await daemon.get("/v1/status").status == 200, "and so is root")

                // Every one is closed by the daemon, none answered, and not before the header timeout (10 s).
                let (closedAt, answered) = try await RawSocket.onThread { RawSocket.waitForClose(descriptors, timeout: .seconds(60)) }
                #expect(answered == 0, "\(answered) unfinished requests were answered")
                #expect(closedAt.count == count, "\(count - closedAt.count) connections were still open after 60 s")
                if let first = closedAt.min(), let last = closedAt.max() {
                    #expect(opened.duration(to: first) >= .seconds(9), "the first closed after \(opened.duration(to: first))")
                    print("1,000 unfinished heads: first closed after \(opened.duration(to: first)), last after \(opened.duration(to: last))")
                }
                #expect(try await daemon.get("/v1/status").status == 200)
            }
        }
    }
}

/// The `"error"."message"` of an answer.
private func errorMessage(_ reply: HTTPReply) -> String? {
    (reply.json?["error"] as? [String: Any])?["message"] as? String
}

extension RawSocket {
    /// Reads from a connected socket until a whole answer came (by its Content-Length), the peer closed, or the
    /// socket's read timeout passed.
    static func readUntilAnswerOrClose(_ fd: Int32) -> [UInt8] {
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            if let reply = firstReply(answer), reply.header("content-length").flatMap({ Int($0) }) == reply.body.count { return answer }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return answer }
            answer.append(contentsOf: buffer[0..<count])
        }
    }

    /// Waits until the peer closed each socket or `timeout` passed. Returns when each closed, and how many got
    /// any bytes first.
    static func waitForClose(_ descriptors: [Int32], timeout: Duration) -> (closedAt: [ContinuousClock.Instant], answered: Int) {
        let deadline = ContinuousClock.now + timeout
        var open = Set(descriptors)
        var closedAt: [ContinuousClock.Instant] = []
        var answered = Set<Int32>()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !open.isEmpty, ContinuousClock.now < deadline {
            var polled = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polled, nfds_t(polled.count), 200)
            guard ready > 0 else { continue }
            for entry in polled where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { recv(entry.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count > 0 {
                    answered.insert(entry.fd)
                } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                    open.remove(entry.fd)
                    closedAt.append(.now)
                }
            }
        }
        return (closedAt, answered.count)
    }
}
