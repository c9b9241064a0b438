//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The state directory's lock (issue 12): one holder at a time, and a refused one learns who holds it.
@Suite("State directory lock")
struct StateDirectoryLockTests {
    /// The error a lock attempt throws, or nil when it locked (the lock is then released).
    func lockError(_ directory: String, socketPath: String) -> StoreError? {
        do {
            let lock = try StateDirectoryLock(directory: directory, socketPath: socketPath, logger: Sample.logger)
            lock.release()
            return nil
        } catch {
            return error
        }
    }

    /// The lock file's text.
    func record(_ directory: ScratchDirectory) -> String? {
        FileManager.default.contents(atPath: directory.path + "/" + StateDirectoryLock.fileName).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test("a second lock on another descriptor is refused naming the holder's pid and socket; after a release it is taken")
    func secondLockRefusedUntilReleased() throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let first = try StateDirectoryLock(directory: directory.path, socketPath: "/run/a/a.sock", logger: Sample.logger)
        #expect(first.path == directory.path + "/slotgated.lock")
        #expect(record(directory) == "pid=\(getpid())\nsocket=/run/a/a.sock\n")

        let refused = try #require(lockError(directory.path, socketPath: "/run/b/b.sock"))
        #expect(refused.code == "state_dir_in_use")
        #expect(refused.lockHolder == StateDirectoryLock.Holder(pid: getpid(), socketPath: "/run/a/a.sock"))
        #expect(!refused.isResettable)
        #expect(
            refused.description
                == "the state directory \(directory.path) is in use by slotgated pid \(getpid()) (socket /run/a/a.sock); "
                + "one daemon per state directory (state.dir)"
        )
        // The refused attempt left the holder's record alone.
        #expect(record(directory) == "pid=\(getpid())\nsocket=/run/a/a.sock\n")

        first.release()
        first.release()
        let second = try StateDirectoryLock(directory: directory.path, socketPath: "/run/b/b.sock", logger: Sample.logger)
        defer { second.release() }
        #expect(record(directory) == "pid=\(getpid())\nsocket=/run/b/b.sock\n")
        #expect(lockError(directory.path, socketPath: "/run/c/c.sock")?.lockHolder?.socketPath == "/run/b/b.sock")
    }

    @Test("the lock ends with its object, the record can name another socket, and a missing directory is created")
    func lifetimeAndRecord() throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let nested = directory.path + "/state/deeper"
        do {
            let lock = try StateDirectoryLock(directory: nested, socketPath: "/run/a/a-long-path.sock", logger: Sample.logger)
            try lock.record(socketPath: "/run/x.sock")
            let text = try #require(FileManager.default.contents(atPath: nested + "/slotgated.lock"))
            // Cut to the new length: nothing of the longer first record is left.
            #expect(String(decoding: text, as: UTF8.self) == "pid=\(getpid())\nsocket=/run/x.sock\n")
            #expect(lockError(nested, socketPath: "/run/b.sock")?.lockHolder?.socketPath == "/run/x.sock")
            withExtendedLifetime(lock) {}
        }
        // The object is gone, and with it the descriptor and the lock.
        #expect(lockError(nested, socketPath: "/run/b.sock") == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: nested + "/slotgated.lock")
        // Nothing for other users (0640 before the umask).
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o007 } == 0)
    }

    @Test("a state directory that cannot be made stops the lock with lock_failed naming the file")
    func unusableDirectory() throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        // A regular file where the state directory should be.
        let blocked = directory.path + "/file"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocked))
        let error = try #require(lockError(blocked + "/state", socketPath: "/run/a.sock"))
        #expect(error.code == "lock_failed")
        #expect(error.path == blocked + "/state/slotgated.lock")
        #expect(error.description.hasPrefix("cannot lock the state directory: \(blocked)/state/slotgated.lock cannot be created"))
        #expect(error.lockHolder == nil && !error.isResettable)
    }

    @Test("a record naming a dead process or no process is not reported as the holder")
    func unusableRecords() throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + StateDirectoryLock.fileName
        // Held by a descriptor of our own that never records (as a read-only lock file would be).
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        for text in ["", "garbage\n", "pid=0\nsocket=/run/a.sock\n", "pid=\(getpid())\n", "pid=\(Int32.max)\nsocket=/run/gone.sock\n"] {
            // Written through the locked descriptor: a new file (an atomic write) would not be the locked one.
            let bytes = Array(text.utf8)
            try #require(ftruncate(fd, 0) == 0)
            try #require(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == bytes.count)
            let refused = try #require(lockError(directory.path, socketPath: "/run/b.sock"), "\(text)")
            #expect(refused.code == "state_dir_in_use")
            #expect(refused.lockHolder == nil, "\(text)")
            #expect(refused.description.contains("is in use by another process") && refused.description.contains("(state.dir)"))
        }
    }
}
