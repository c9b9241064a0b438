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
    /// A start that cannot complete stops before anything listens, with a message naming the key or path to fix and
    /// an exit code from sysexits.h; a stop removes the socket file the daemon made.
    @Suite("Start-up failures")
    struct StartupFailures {
        /// Runs slotgated (as `user` when given) until it exits; returns its exit code and stderr.
        static func failedStart(
            _ directory: TemporaryDirectory,
            socket: String,
            stateDirectory: String,
            environment: [String: String] = [:],
            asNobody: Bool = false
        ) async throws -> (code: Int32?, stderr: String) {
            var executable = Paths.slotgated
            var arguments = ["--config", directory.file("slotgate.yaml"), "--socket", socket, "--state-dir", stateDirectory]
            if asNobody {
                // A copy uid nobody can run: the build directory may sit where it cannot enter.
                let copy = directory.file("slotgated")
                if !FileManager.default.fileExists(atPath: copy) { try FileManager.default.copyItem(atPath: Paths.slotgated, toPath: copy) }
                chmod(copy, 0o755)
                arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", copy] + arguments
                executable = "/usr/bin/setpriv"
            }
            try Data("# start-up failure test\n".utf8).write(to: URL(fileURLWithPath: directory.file("slotgate.yaml")))
            chmod(directory.file("slotgate.yaml"), 0o644)
            let child = try ChildProcess(
                name: "slotgated",
                executable: executable,
                arguments: arguments,
                environment: ["PATH": "/usr/bin:/bin", "SLOTGATE_UPSTREAM_SIMULATE": "true"].merging(environment) { _, new in new }
            )
            let exited = await child.waitForExit(timeout: .seconds(20))
            if !exited { await child.stop() }
            try #require(exited, "slotgated started although it should not have; stderr:\n\(child.stderr.tail(20))")
            return (child.exitCode, child.stderr.text)
        }

        @Test("a socket directory that does not exist: exit 73, naming socket.path and the directory, nothing listening")
        func socketDirectoryMissing() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let socket = directory.file("missing/d.sock")
            let (code, stderr) = try await Self.failedStart(directory, socket: socket, stateDirectory: directory.file("state"))
            #expect(code == 73, "\(stderr)")
            #expect(stderr.contains("socket.path") && stderr.contains("the directory \(directory.file("missing")) of the socket"), "\(stderr)")
            #expect(!stderr.contains("listening"), "\(stderr)")
        }

        @Test("a metrics address another process listens on: exit 69, naming metrics.listen and the address; no socket left")
        func metricsPortTaken() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let (fd, port) = try Self.listeningTCP()
            defer { close(fd) }
            let socket = directory.file("d.sock")
            let (code, stderr) = try await Self.failedStart(
                directory,
                socket: socket,
                stateDirectory: directory.file("state"),
                environment: ["SLOTGATE_METRICS_LISTEN": "127.0.0.1:\(port)"]
            )
            #expect(code == 69, "\(stderr)")
            #expect(stderr.contains("metrics.listen: 127.0.0.1:\(port) is already in use"), "\(stderr)")
            #expect(!stderr.contains("listening"), "\(stderr)")
            #expect(!FileManager.default.fileExists(atPath: socket), "no socket file is left behind")
        }

        @Test(
            "a state directory the daemon's user may not write: exit 77, 'permission denied', never --reset-state",
            .enabled(if: getuid() == 0, "switching to uid nobody needs root")
        )
        func stateDirectoryNotWritable() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            chmod(directory.path, 0o755)
            // Owned by root, mode 0755: uid nobody may read it but not create the lock file or the ledger. Then the
            // same with a ledger root made earlier in a directory nobody may write to (the ledger's own open).
            let state = directory.file("state")
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
            chmod(state, 0o755)
            let socketDirectory = directory.file("run")
            try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
            chmod(socketDirectory, 0o777)
            for attempt in ["no lock file", "a lock file nobody may write", "a ledger nobody may write"] {
                if attempt == "a lock file nobody may write" {
                    FileManager.default.createFile(atPath: state + "/slotgated.lock", contents: nil)
                    chmod(state + "/slotgated.lock", 0o644)
                }
                if attempt == "a ledger nobody may write" {
                    chmod(state + "/slotgated.lock", 0o666)
                    let made = try await Self.startAndStop(directory, stateDirectory: state)
                    #expect(made, "root's daemon made the ledger")
                    chmod(state, 0o777)
                }
                let (code, stderr) = try await Self.failedStart(
                    directory,
                    socket: socketDirectory + "/d.sock",
                    stateDirectory: state,
                    asNobody: true
                )
                #expect(code == 77, "\(attempt): \(stderr)")
                #expect(stderr.contains("permission denied"), "\(attempt): \(stderr)")
                #expect(!stderr.contains("--reset-state"), "\(attempt): \(stderr)")
                #expect(!stderr.contains("listening"), "\(attempt): \(stderr)")
            }
        }

        @Test("a stop removes the socket file the daemon made")
        func stopRemovesSocket() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            #expect(try await Self.startAndStop(directory, stateDirectory: directory.file("state")))
            #expect(!FileManager.default.fileExists(atPath: directory.file("d.sock")), "the socket file is gone after SIGTERM")
        }

        /// Starts slotgated as root on the simulator, waits for its socket to answer, stops it with SIGTERM. Returns
        /// whether it answered.
        static func startAndStop(_ directory: TemporaryDirectory, stateDirectory: String) async throws -> Bool {
            let socket = directory.file("d.sock")
            let child = try ChildProcess(
                name: "slotgated",
                executable: Paths.slotgated,
                arguments: ["--socket", socket, "--state-dir", stateDirectory],
                environment: ["PATH": "/usr/bin:/bin", "SLOTGATE_UPSTREAM_SIMULATE": "true"]
            )
            var answered = false
            let deadline = ContinuousClock.now + .seconds(20)
            while !answered, ContinuousClock.now < deadline, child.isRunning {
                answered = UnixSocketProbe.answers(socket)
                if !answered { try await Task.sleep(for: .milliseconds(50)) }
            }
            child.signal(SIGTERM)
            let exited = await child.waitForExit(timeout: .seconds(10))
            if !exited { await child.stop() }
            #expect(child.exitCode == 0, "\(child.stderr.tail(20))")
            return answered
        }

        /// A TCP socket listening on 127.0.0.1 and its port.
        static func listeningTCP() throws -> (Int32, Int) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw HarnessError("socket() failed") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                    bind(fd, pointer, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, pointer, &length) == 0
                }
            }
            guard bound else {
                close(fd)
                throw HarnessError("cannot listen on 127.0.0.1: errno \(errno)")
            }
            return (fd, Int(UInt16(bigEndian: address.sin_port)))
        }
    }
}

/// Whether something accepts connections on a Unix socket.
enum UnixSocketProbe {
    static func answers(_ path: String) -> Bool {
        guard let fd = try? RawSocket.connected(path, timeout: .seconds(1)) else { return false }
        close(fd)
        return true
    }
}
