//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One daemon per state directory (issue 12): an exclusive `flock` on `<state.dir>/slotgated.lock`, held from
/// before the ledger opens until the daemon ends. The kernel drops the lock when its descriptor closes, which
/// includes the process dying by SIGKILL, so a lock is never stale; the file itself stays and is never removed
/// (removing it would let a third daemon lock a fresh file while the second still holds the old one).
///
/// The file records its holder, `pid=<pid>` and `socket=<path>` on a line each, so a daemon refused the lock can
/// say which daemon has the directory. The record is read only when the lock is refused, and one naming a process
/// that is gone is not reported: a holder that could not write the file leaves an earlier daemon's text in it.
public final class StateDirectoryLock: Sendable {
    /// The lock file's name in the state directory.
    public static let fileName = "slotgated.lock"

    /// A daemon holding the lock, as its lock file records it.
    public struct Holder: Sendable, Hashable {
        /// Its process id.
        public var pid: Int32
        /// The socket it serves.
        public var socketPath: String

        /// Describes a holder.
        /// - Parameters:
        ///   - pid: its process id.
        ///   - socketPath: the socket it serves.
        public init(pid: Int32, socketPath: String) {
            self.pid = pid
            self.socketPath = socketPath
        }

        /// The record's text: `pid=…` and `socket=…`, a line each.
        var record: String { "pid=\(pid)\nsocket=\(socketPath)\n" }

        /// Reads a record; nil unless it has a positive pid and a socket.
        init?(record: String) {
            var pid: Int32?
            var socket: String?
            for line in record.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("pid=") { pid = Int32(line.dropFirst(4)) }
                if line.hasPrefix("socket=") { socket = String(line.dropFirst(7)) }
            }
            guard let pid, pid > 0, let socket, !socket.isEmpty else { return nil }
            self.init(pid: pid, socketPath: socket)
        }
    }

    /// The state directory.
    public let directory: String
    /// The lock file.
    public let path: String
    /// The locked descriptor; nil once released.
    private let descriptor: Mutex<CInt?>
    /// Whether the descriptor was opened for writing (false when the file exists but cannot be written).
    private let writable: Bool

    /// Takes the lock on `directory` without waiting and records this process and `socketPath` in the file.
    /// - Parameters:
    ///   - directory: the state directory; created if missing.
    ///   - socketPath: the socket this daemon serves, for the record.
    ///   - logger: the logger.
    /// - Throws: `StoreError` `state_dir_in_use` (naming the holder) when another process holds the lock, or
    ///   `lock_failed` when the file cannot be created, opened, locked or written.
    public init(directory: String, socketPath: String, logger: Logger) throws(StoreError) {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        self.directory = directory
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            if Self.deniedAccess(toCreate: directory) {
                throw .permissionDenied(directory, "cannot be created")
            }
            throw .lockFailed(path, "cannot be created: its directory cannot be created (\(error.localizedDescription))")
        }
        var writable = true
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        // The first open's error: the read-only retry below would replace it with its own (ENOENT).
        let failure = fd < 0 ? errno : 0
        if fd < 0, failure == EROFS || failure == EACCES {
            // A read-only state directory whose lock file exists: a read-only descriptor can be locked as well, and
            // the ledger's own open then says what is wrong with the directory.
            fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            writable = false
        }
        guard fd >= 0 else {
            if failure == EACCES || failure == EPERM {
                throw .permissionDenied(path, "cannot be created or opened")
            }
            throw .lockFailed(
                path,
                "cannot be created or opened (\(String(cString: strerror(failure)))); make the state directory (state.dir, --state-dir) writable"
            )
        }
        var result: CInt
        repeat {
            result = flock(fd, LOCK_EX | LOCK_NB)
        } while result != 0 && errno == EINTR
        if result != 0 {
            let failure = errno
            let reason = Self.lastError()
            let holder = Self.recordedHolder(fd)
            close(fd)
            if failure == EWOULDBLOCK { throw .stateDirectoryInUse(path, directory: directory, holder: holder) }
            throw .lockFailed(path, "cannot be locked (flock: \(reason))")
        }
        self.descriptor = Mutex(fd)
        self.writable = writable
        if writable {
            do {
                try record(socketPath: socketPath)
            } catch {
                release()
                throw error
            }
        } else {
            logger.warning(
                "the state directory's lock file cannot be written: locked, but it does not name this daemon",
                metadata: ["path": "\(path)"]
            )
        }
    }

    deinit {
        release()
    }

    /// Records this process and `socketPath` as the holder, replacing the file's text. The daemon calls it again
    /// once it knows the socket it really serves (a socket passed by systemd may differ from `socket.path`).
    /// - Parameter socketPath: the socket this daemon serves.
    /// - Throws: `StoreError` `lock_failed` when the file cannot be written; nothing when the lock was released or
    ///   the file is read-only.
    public func record(socketPath: String) throws(StoreError) {
        guard writable else { return }
        let text = Array(Holder(pid: getpid(), socketPath: socketPath).record.utf8)
        let failure: String? = descriptor.withLock { fd in
            guard let fd else { return nil }
            // Written over the old text, then cut to length: a reader sees the old record or the new one, not an
            // empty file.
            let written = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            guard written == text.count, ftruncate(fd, off_t(text.count)) == 0 else {
                return written < 0 ? Self.lastError() : "a short write"
            }
            return nil
        }
        if let failure { throw .lockFailed(path, "cannot be written (\(failure))") }
    }

    /// Releases the lock (closing its descriptor); the file stays. Called by `deinit` too; a second call does
    /// nothing.
    public func release() {
        descriptor.withLock { fd in
            if let open = fd { close(open) }
            fd = nil
        }
    }

    /// The holder the file at `fd` records, when it names a process that is alive.
    private static func recordedHolder(_ fd: CInt) -> Holder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0, let holder = Holder(record: String(decoding: buffer[0..<count], as: UTF8.self)) else { return nil }
        // Alive, or alive under another user (EPERM); ESRCH means the file names a dead process, which a holder that
        // never recorded itself (an older slotgated, a read-only file) leaves behind.
        guard kill(holder.pid, 0) == 0 || errno == EPERM else { return nil }
        return holder
    }

    /// Whether `directory` cannot be made because a parent that exists denies the daemon's user (EACCES).
    static func deniedAccess(toCreate directory: String) -> Bool {
        var parent = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        while !FileManager.default.fileExists(atPath: parent), parent != "/" {
            parent = URL(fileURLWithPath: parent).deletingLastPathComponent().path
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else { return false }
        return access(parent, W_OK | X_OK) != 0 && (errno == EACCES || errno == EPERM)
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
