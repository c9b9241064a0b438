//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateSystemd
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("libsystemd binding")
struct SlotgateSystemdTests {
    @Test("messages are NAME=value lines; a status is one line")
    func messages() {
        #expect(ServiceManagerMessage.ready.description == "READY=1")
        #expect(ServiceManagerMessage.ready.adding(status: "1/3 slots in use").description == "READY=1\nSTATUS=1/3 slots in use")
        #expect(ServiceManagerMessage.reloading(monotonicUsec: 42).description == "RELOADING=1\nMONOTONIC_USEC=42")
        #expect(ServiceManagerMessage.stopping.adding(status: nil).description == "STOPPING=1")
        #expect(ServiceManagerMessage.watchdog.description == "WATCHDOG=1")
        #expect(ServiceManagerMessage.status("reload refused:\nline 2\r\nline 3").description == "STATUS=reload refused: line 2 line 3")
    }

    @Test("MONOTONIC_USEC is read on CLOCK_MONOTONIC")
    func monotonic() {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        let before = UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec) / 1_000
        let now = MonotonicTime.nowMicroseconds()
        #expect(now >= before && now - before < 1_000_000)
    }

    @Test("without NOTIFY_SOCKET the notifier is silent")
    func silentWithoutManager() {
        // The test runner is not started by a service manager.
        #expect(getenv("NOTIFY_SOCKET") == nil)
        #expect(!SystemdNotifier.fromEnvironment().isListening)
        #expect(ServiceWatchdog.pingInterval() == nil || getenv("WATCHDOG_USEC") != nil)
    }

    @Test("log levels map to syslog priorities")
    func priorities() {
        let expected: [(Logger.Level, Int)] = [
            (.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
        ]
        for (level, priority) in expected { #expect(Journal.priority(of: level) == priority, "\(level)") }
    }

    @Test("metadata keys become journal field names")
    func fieldNames() {
        #expect(Journal.fieldName(forMetadataKey: "lease_id") == "LEASE_ID")
        #expect(Journal.fieldName(forMetadataKey: "holder") == "HOLDER")
        #expect(Journal.fieldName(forMetadataKey: "upstream.status") == "UPSTREAM_STATUS")
        #expect(Journal.fieldName(forMetadataKey: "hb.request.id") == "HB_REQUEST_ID")
        // Trusted fields start with "_", names cannot start with a digit, and slotgate's own fields stay its own.
        #expect(Journal.fieldName(forMetadataKey: "_pid") == "PID")
        #expect(Journal.fieldName(forMetadataKey: "2fa") == "FA")
        #expect(Journal.fieldName(forMetadataKey: "message") == "META_MESSAGE")
        #expect(Journal.fieldName(forMetadataKey: "priority") == "META_PRIORITY")
        #expect(Journal.fieldName(forMetadataKey: "code_line") == "META_CODE_LINE")
        #expect(Journal.fieldName(forMetadataKey: "__") == nil)
        #expect(Journal.fieldName(forMetadataKey: String(repeating: "a", count: 100))?.count == 64)
    }

    @Test("JOURNAL_STREAM matches only the file behind the descriptor")
    func journalStream() throws {
        let path = NSTemporaryDirectory() + "sg-journal-\(getpid()).log"
        FileManager.default.createFile(atPath: path, contents: nil)
        defer { unlink(path) }
        let fd = open(path, O_WRONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        #expect(Journal.streamMatches("\(info.st_dev):\(info.st_ino)", fileDescriptor: fd))
        #expect(!Journal.streamMatches("\(info.st_dev):\(info.st_ino + 1)", fileDescriptor: fd))
        #expect(!Journal.streamMatches("\(info.st_dev)", fileDescriptor: fd))
        #expect(!Journal.streamMatches("x:y", fileDescriptor: fd))
        #expect(!Journal.streamMatches("\(info.st_dev):\(info.st_ino)", fileDescriptor: -1))
        #expect(!Journal.isStandardErrorJournal(journalStream: nil))
    }

    @Test("without journald, sending an entry fails instead of blocking", .enabled(if: !journaldListens))
    func journalWithoutJournald() {
        #expect(Journal.send([("MESSAGE", "test entry"), ("PRIORITY", "6"), ("LEASE_ID", "lse_x")]) < 0)
    }

    @Test("a process not socket-activated has no inherited socket")
    func notActivated() throws {
        #expect(getenv("LISTEN_FDS") == nil)
        #expect(try SocketActivation.takeListeningSocket() == nil)
    }

    @Test("only a listening Unix stream socket is accepted")
    func validation() throws {
        let path = NSTemporaryDirectory() + "sg-activation-\(getpid()).sock"
        unlink(path)
        defer { unlink(path) }
        let listening = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listening) }
        try #require(bindUnix(listening, path) == 0 && listen(listening, 8) == 0)
        #expect(throws: Never.self) { try SocketActivation.validate(.init(fileDescriptor: listening, name: "api")) }
        // Its path, read back from the descriptor: what the state directory's lock file records.
        #expect(SocketActivation.InheritedSocket(fileDescriptor: listening, name: "api").path == path)

        let unlistened = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(unlistened) }
        let datagram = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(datagram) }
        var pipeEnds: [Int32] = [0, 0]
        try #require(pipe(&pipeEnds) == 0)
        defer { for end in pipeEnds { close(end) } }
        let cases: [(CInt, String)] = [
            (unlistened, "is a socket but not a listening Unix stream socket"),
            (datagram, "is a socket but not a listening Unix stream socket"),
            (pipeEnds[0], "is not a socket"),
        ]
        #expect(SocketActivation.InheritedSocket(fileDescriptor: unlistened, name: "api").path == nil, "an unbound socket has no path")
        #expect(SocketActivation.InheritedSocket(fileDescriptor: pipeEnds[0], name: "api").path == nil)
        for (fd, what) in cases {
            do throws(SocketActivation.Problem) {
                try SocketActivation.validate(.init(fileDescriptor: fd, name: "api"))
                Issue.record("descriptor \(fd) was accepted; expected it \(what)")
            } catch {
                #expect(error.description.contains(what), "\(error.description)")
                #expect(error.description.contains("ListenStream="), "the message says how to fix the unit")
            }
        }
    }
}

/// Whether a journald socket exists on this machine (then entries are really sent).
private let journaldListens = FileManager.default.fileExists(atPath: "/run/systemd/journal/socket")

private func bindUnix(_ fd: CInt, _ path: String) -> CInt {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}
