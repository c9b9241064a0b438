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

/// A PostgreSQL cluster of a test's (or a benchmark's) own on 127.0.0.1 (fsync off), made with the system's `initdb` and run with
/// `pg_ctl`, which the test can stop and start again (a database outage). As root, both run as the `postgres`
/// user, since `initdb` refuses root (systemd-notes.md "PostgreSQL for tests").
public final class PostgresServer: Sendable {
    /// The cluster's directory.
    public let directory: String
    /// Its port on 127.0.0.1.
    public let port: Int
    private let binaries: String

    /// The URL daemons are given.
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }

    private init(directory: String, port: Int, binaries: String) {
        self.directory = directory
        self.port = port
        self.binaries = binaries
    }

    /// The newest installed PostgreSQL's programs.
    public static func binaries() throws -> String {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        guard let newest = versions.compactMap(Int.init).max() else {
            throw PostgresServerError("no PostgreSQL under \(root): `make test` installs postgresql")
        }
        return "\(root)/\(newest)/bin"
    }

    /// Makes and starts a cluster on a free port.
    public static func start() async throws -> PostgresServer {
        let binaries = try binaries()
        reapAbandoned(binaries: binaries)
        // The owner's pid in the name lets a later run stop a cluster whose test process was killed.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("slotgate-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            try run("/bin/chown", ["postgres:postgres", directory], asPostgres: false)
        }
        let port = try FreePort.pick()
        let server = PostgresServer(directory: directory, port: port, binaries: binaries)
        try run("\(binaries)/initdb", ["-D", "\(directory)/data", "-A", "trust", "-U", "postgres", "--no-sync"], asPostgres: true)
        try server.startCluster()
        return server
    }

    /// Stops and removes clusters left by test processes that no longer run (killed before their cleanup).
    static func reapAbandoned(binaries: String) {
        let temporary = FileManager.default.temporaryDirectory.path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for name in names where name.hasPrefix("slotgate-pg-") {
            let parts = name.split(separator: "-")
            guard parts.count >= 4, let owner = Int32(parts[2]), owner != getpid(), kill(owner, 0) != 0, errno == ESRCH else { continue }
            let directory = temporary + "/" + name
            try? run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], asPostgres: true)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Starts the cluster (again).
    public func startCluster() throws {
        try Self.run(
            "\(binaries)/pg_ctl",
            [
                "-D", "\(directory)/data", "-l", "\(directory)/log", "-w", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100",
                "start",
            ],
            asPostgres: true
        )
    }

    /// Stops the cluster at once (`-m immediate`: connections drop as in a crash).
    public func stopCluster() throws {
        try Self.run("\(binaries)/pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], asPostgres: true)
    }

    /// Stops the cluster and removes its files.
    public func destroy() {
        try? stopCluster()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command to its end with posix_spawn and waitpid (Foundation's `Process` can miss the exit of a
    /// `runuser` whose grandchild, the server, lives on), its output in a file.
    private static func run(_ executable: String, _ arguments: [String], asPostgres: Bool) throws {
        let argv = (asPostgres && getuid() == 0) ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments : [executable] + arguments
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("slotgate-pgcmd-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) }
        defer { for pointer in cArguments { free(pointer) } }
        cArguments.append(nil)
        let variables: [String] = ["PATH=/usr/bin:/bin", "LC_ALL=C"]
        var environment = variables.map { strdup($0) }
        defer { for pointer in environment { free(pointer) } }
        environment.append(nil)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environment)
        guard spawned == 0 else { throw PostgresServerError("cannot start \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        guard status == 0 else {
            let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            throw PostgresServerError("\(argv.joined(separator: " ")) failed (\(status)): \(text)")
        }
    }
}

/// A TCP port nobody listens on now (bound to port 0 and closed).
public enum FreePort {
    /// A free port.
    public static func pick() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresServerError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PostgresServerError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw PostgresServerError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A PostgreSQL program failed.
public struct PostgresServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
