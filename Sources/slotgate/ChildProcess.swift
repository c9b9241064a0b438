//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A command run by `slotgate run`: started with `posix_spawnp`, sharing this process's stdio, terminal and
/// process group.
struct ChildProcess: Sendable {
    /// Why the command could not be started.
    struct SpawnFailure: Error, Sendable {
        /// The command name.
        var command: String
        /// `errno` of the spawn.
        var code: Int32

        /// 127 when the command was not found, 126 when it could not be executed (the shells' convention).
        var exitCode: Int32 { code == ENOENT || code == ENOTDIR ? 127 : 126 }

        /// One line for stderr.
        var line: String { "slotgate: cannot run \(command): \(String(cString: strerror(code)))" }
    }

    /// The child's process id.
    let pid: pid_t

    /// Starts `arguments[0]` (searched in `PATH`) with `arguments` and `environment`.
    ///
    /// The signals `slotgate run` handles or ignores itself are reset to their defaults in the child and its signal
    /// mask is emptied, so the command sees the signal setup a shell would give it.
    /// - Parameters:
    ///   - arguments: the command and its arguments; not empty.
    ///   - environment: the complete environment of the command.
    static func spawn(_ arguments: [String], environment: [String: String]) throws(SpawnFailure) -> ChildProcess {
        let command = arguments.first ?? ""
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in SignalForwarder.forwarded + [SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, command, nil, &attributes, argv, envp)
        guard result == 0 else { throw SpawnFailure(command: command, code: result) }
        return ChildProcess(pid: pid)
    }

    /// Waits for the child to end, on a thread of its own (waitpid blocks), and returns the status to exit with:
    /// the command's exit status, or 128 + N when signal N killed it.
    func waitForExit() async -> Int32 {
        let pid = self.pid
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                var status: Int32 = 0
                var result = waitpid(pid, &status, 0)
                while result == -1 && errno == EINTR { result = waitpid(pid, &status, 0) }
                continuation.resume(returning: result == -1 ? 1 : Self.exitCode(fromWaitStatus: status))
            }
            thread.start()
        }
    }

    /// Decodes a `waitpid` status as a shell would report it (the WIFEXITED/WTERMSIG macros are not imported).
    static func exitCode(fromWaitStatus status: Int32) -> Int32 {
        let signal = status & 0x7F
        if signal == 0 { return (status >> 8) & 0xFF }
        if signal != 0x7F { return 128 + signal }
        return 1
    }
}
