//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateCore
import Synchronization
import Testing

@testable import SlotgateStore

#if canImport(Glibc)
import Glibc
#endif

/// The embedded ledger on its own: schema, durability settings, round trip, bad files, pruning, refused writes.
@Suite("SQLite lease store")
struct SQLiteLeaseStoreTests {
    func open(_ directory: ScratchDirectory) throws -> SQLiteLeaseStore {
        try SQLiteLeaseStore(directory: directory.path, logger: Sample.logger)
    }

    /// The error an open throws, or nil when it opened.
    func openError(_ path: String) -> StoreError? {
        do {
            _ = try SQLiteLeaseStore(directory: path, logger: Sample.logger)
            return nil
        } catch {
            return error
        }
    }

    @Test("every Lease field survives a write, a close and a reopen")
    func roundTrip() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let full = Sample.fullLease()
        var bare = Sample.granted(2)
        bare.priority = 10
        do {
            let store = try open(directory)
            try await store.write([full, bare])
        }
        let loaded = try await open(directory).load()
        #expect(loaded.count == 2)
        #expect(loaded.first { $0.id == full.id } == full)
        #expect(loaded.first { $0.id == bare.id } == bare)
    }

    @Test("a later write of a lease replaces its row; waiting leases are never written")
    func replaceAndSkipWaiting() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        var lease = Sample.granted(1)
        try await store.write([lease])
        lease.state = .bound
        lease.sessionID = "ses_1"
        lease.boundAt = lease.grantedAt
        lease.expiresAt = nil
        var waiting = Sample.granted(2)
        waiting.state = .waiting
        try await store.write([lease, waiting])
        #expect(try await store.load() == [lease])
        try await store.forget([lease.id])
        #expect(try await store.load().isEmpty)
    }

    @Test("migrations run on an empty directory and on an empty file; the version is recorded")
    func migrationsOnEmptyFile() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        #expect(try await store.load().isEmpty)
        #expect(try await store.pragma("user_version") == String(SQLiteLeaseStore.schemaVersion))

        let empty = try ScratchDirectory()
        defer { empty.remove() }
        FileManager.default.createFile(atPath: empty.ledger, contents: Data())
        let fromEmptyFile = try open(empty)
        try await fromEmptyFile.write([Sample.granted(1)])
        #expect(try await fromEmptyFile.load().count == 1)
    }

    @Test("WAL is in force after opening; synchronous=FULL with state.fsync (GRDB resets it to NORMAL), else NORMAL")
    func durabilitySettings() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        #expect(try await open(directory).pragma("synchronous") == "1")
        let store = try SQLiteLeaseStore(directory: directory.path, fsync: true, logger: Sample.logger)
        #expect(try await store.pragma("journal_mode") == "wal")
        #expect(try await store.pragma("synchronous") == "2")
        #expect(try await store.pragma("auto_vacuum") == "2")
        #expect(try await store.pragma("busy_timeout") == "5000")
    }

    @Test("a write that only ends leases is held for the next commit, or written on its own within endsDelay")
    func endingWritesGoWithTheNextCommit() async throws {
        var bound = Sample.granted(2)
        bound.state = .bound
        var draining = Sample.granted(3)
        draining.state = .draining
        var expired = Sample.granted(4)
        expired.state = .expired
        let released = Sample.ended(5, at: Sample.start)
        #expect(SQLiteLeaseStore.onlyEnds([released, expired, draining]))
        #expect(!SQLiteLeaseStore.onlyEnds([released, Sample.granted(1)]), "a grant in the same write waits for the disk")
        #expect(!SQLiteLeaseStore.onlyEnds([bound]))
        func ended(_ n: UInt64) -> Lease {
            var lease = Sample.granted(n)
            lease.state = .released
            lease.expiresAt = nil
            lease.releasedAt = Sample.start.advanced(by: .seconds(1))
            return lease
        }

        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let store = try SQLiteLeaseStore(directory: directory.path, fsync: true, logger: Sample.logger)
        try await store.write([Sample.granted(1), Sample.granted(6), Sample.granted(8)])
        try await store.write([released, expired])
        // A read writes what is held first.
        #expect(try await store.load().map(\.state).sorted { $0.rawValue < $1.rawValue } == [.expired, .granted, .granted, .granted, .released])
        #expect(try await store.pragma("synchronous") == "2", "grants are written with synchronous=FULL")

        // Held ends go with the next grant's commit: on disk once the grant's write returns, without a flush.
        try await store.write([ended(6)])
        try await store.write([Sample.granted(7)])
        let afterGrant = try await open(directory).load()
        #expect(afterGrant.first { $0.id == Sample.granted(6).id }?.state == .released)
        #expect(afterGrant.contains { $0.id == Sample.granted(7).id })

        // Without a grant to go with, they are written within endsDelay.
        try await store.write([ended(8)])
        // Another connection reads the file until the timer's commit shows (5 s at most).
        let deadline = ContinuousClock.now + .seconds(5)
        var state = try await open(directory).load().first { $0.id == Sample.granted(8).id }?.state
        while state != .released, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            state = try await open(directory).load().first { $0.id == Sample.granted(8).id }?.state
        }
        #expect(state == .released)

        // A forgotten lease is not written back by a later commit.
        try await store.write([ended(1)])
        try await store.forget([Sample.granted(1).id])
        store.flush()
        #expect(try await open(directory).load().contains { $0.id == Sample.granted(1).id } == false)
    }

    @Test("a ledger with a newer schema version is refused with a message naming the file and --reset-state")
    func newerSchemaRefused() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        do {
            let store = try open(directory)
            try await store.write([Sample.granted(1)])
            try await store.unsafeExecute("PRAGMA user_version = \(SQLiteLeaseStore.schemaVersion + 1)")
        }
        let error = try #require(openError(directory.path))
        #expect(error.code == "newer_schema")
        #expect(error.isResettable)
        #expect(error.description.contains(directory.ledger))
        #expect(error.description.contains("--reset-state"))
        #expect(error.description.contains("version \(SQLiteLeaseStore.schemaVersion + 1)"))
    }

    @Test("a ledger with a migration this build does not know is refused as newer")
    func unknownMigrationRefused() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        do {
            let store = try open(directory)
            try await store.unsafeExecute("INSERT INTO grdb_migrations (identifier) VALUES ('v99')")
        }
        #expect(openError(directory.path)?.code == "newer_schema")
    }

    @Test("a file of garbage bytes is refused as corrupt; moveAside keeps it and a new ledger starts empty")
    func corruptFileRefused() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        var random = SplitMix64(seed: 7)
        let garbage = Data((0..<8192).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        try garbage.write(to: URL(fileURLWithPath: directory.ledger))
        let error = try #require(openError(directory.path))
        #expect(error.code == "corrupt")
        #expect(error.isResettable)
        #expect(error.description.contains(directory.ledger))
        #expect(error.description.contains("--reset-state"))

        let moved = try #require(try SQLiteLeaseStore.moveAside(directory: directory.path))
        #expect(moved.hasPrefix(directory.ledger + ".broken-"))
        #expect(FileManager.default.contents(atPath: moved) == garbage)
        #expect(try await open(directory).load().isEmpty)
    }

    @Test("a ledger whose header is intact but whose table pages are damaged is refused as corrupt")
    func damagedPagesRefused() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        do {
            let store = try open(directory)
            try await store.write((1...200).map { Sample.granted($0) })
            try await store.checkpoint()
        }
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: directory.ledger))
        let size = try handle.seekToEnd()
        // Keep page 1 (the header and schema) and overwrite the rest.
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: Int(size) - 4096))
        try handle.close()
        try? FileManager.default.removeItem(atPath: directory.ledger + "-wal")
        try? FileManager.default.removeItem(atPath: directory.ledger + "-shm")
        let error = try #require(openError(directory.path))
        #expect(error.code == "corrupt")
    }

    @Test("pruning deletes ended leases older than the cutoff and keeps newer and live ones")
    func pruning() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        let now = Sample.start
        let old = Sample.ended(1, at: now.advanced(by: .seconds(-25 * 3600)))
        let recent = Sample.ended(2, at: now.advanced(by: .seconds(-3600)))
        let live = Sample.granted(3, at: now.advanced(by: .seconds(-30 * 3600)))
        try await store.write([old, recent, live])
        let deleted = try await store.prune(endedBefore: now.advanced(by: .seconds(-24 * 3600)))
        #expect(deleted == 1)
        #expect(Set(try await store.load().map(\.id)) == [recent.id, live.id])
        // Live leases come first, then ended ones by end time (the order the core's history needs).
        #expect(try await store.load().map(\.id) == [live.id, recent.id])
    }

    @Test("a ledger that refuses writes makes write and forget throw; what was written stays")
    func refusedWritesThrow() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        let kept = Sample.granted(1)
        try await store.write([kept])
        // SQLITE_READONLY, as a read-only file system answers.
        try await store.unsafeExecute("PRAGMA query_only = 1")
        await #expect(throws: StoreError.self) { try await store.write([Sample.granted(2)]) }
        await #expect(throws: StoreError.self) { try await store.forget([kept.id]) }
        try await store.unsafeExecute("PRAGMA query_only = 0")
        #expect(try await store.load() == [kept])
    }

    @Test("every failed write is reported to onWriteFailure (slotgate_ledger_write_errors_total), the background commit of ended leases too")
    func failedWritesAreReported() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let failures = Mutex<[String]>([])
        let store = try SQLiteLeaseStore(directory: directory.path, logger: Sample.logger) { error in
            failures.withLock { $0.append(error.code) }
        }
        let kept = Sample.granted(1)
        try await store.write([kept])
        try await store.forget([Sample.granted(9).id])
        #expect(failures.withLock { $0 }.isEmpty)
        try await store.unsafeExecute("PRAGMA query_only = 1")
        _ = try? await store.write([Sample.granted(2)])
        #expect(failures.withLock { $0.count } == 1)
        _ = try? await store.forget([kept.id])
        #expect(failures.withLock { $0.count } == 2)
        // An ended lease is held and its write returns at once; the commit that fails throws to nobody.
        try await store.write([Sample.ended(3, at: Sample.start)])
        store.flush()
        #expect(failures.withLock { $0.count } >= 3)
        try await store.unsafeExecute("PRAGMA query_only = 0")
        #expect(failures.withLock { $0 }.allSatisfy { $0 == "write_failed" || $0 == "unwritable" }, "\(failures.withLock { $0 })")
    }

    @Test("a ledger at its size limit makes write throw (SQLITE_FULL); earlier leases stay")
    func sizeLimitThrows() async throws {
        let directory = try ScratchDirectory()
        defer { directory.remove() }
        let store = try open(directory)
        let kept = Sample.granted(1)
        try await store.write([kept])
        let pages = try #require(Int(try await store.pragma("page_count") ?? ""))
        try await store.unsafeExecute("PRAGMA max_page_count = \(pages)")
        let many = (2...2000).map { n in
            var lease = Sample.granted(UInt64(n))
            lease.holder = String(repeating: "x", count: 100)
            return lease
        }
        let error = await #expect(throws: StoreError.self) { try await store.write(many) }
        #expect(error?.code == "write_failed")
        #expect(try await store.load() == [kept])
    }

    @Test(
        "a full file system (256 KiB tmpfs) makes write throw and a start fail; every lease written before is kept",
        .enabled(if: getuid() == 0, "mounting a tmpfs needs root")
    )
    func fullFileSystemThrows() async throws {
        let outcome: Void? = try await withTinyFileSystem(size: "256k") { path in
            var written: [Lease] = []
            var failed = false
            do {
                let store = try SQLiteLeaseStore(directory: path, logger: Sample.logger)
                for n in 1...5000 {
                    var lease = Sample.granted(UInt64(n))
                    lease.holder = String(repeating: "y", count: 120)
                    do {
                        try await store.write([lease])
                        written.append(lease)
                    } catch let error as StoreError {
                        #expect(error.code == "write_failed")
                        failed = true
                        break
                    }
                }
            }
            #expect(failed, "256 KiB never filled up")
            #expect(!written.isEmpty)
            // Still full: a start is refused as unwritable (not as corrupt, which would suggest --reset-state).
            let atStart = openError(path)
            #expect(atStart?.code == "unwritable", "\(String(describing: atStart))")
            #expect(atStart?.isResettable == false)
            #expect(run("/bin/mount", ["-o", "remount,size=1m", path]) == 0)
            let reopened = try SQLiteLeaseStore(directory: path, logger: Sample.logger)
            #expect(Set(try await reopened.load().map(\.id)) == Set(written.map(\.id)))
        }
        if outcome == nil { Issue.record("could not mount a tmpfs") }
    }

    @Test(
        "a read-only file system at start is refused as unwritable, and the leases in it are kept",
        .enabled(if: getuid() == 0, "mounting a tmpfs needs root")
    )
    func readOnlyAtStart() async throws {
        let outcome: Void? = try await withTinyFileSystem(size: "1m") { path in
            let lease = Sample.granted(1)
            do {
                let store = try SQLiteLeaseStore(directory: path, logger: Sample.logger)
                try await store.write([lease])
            }
            #expect(run("/bin/mount", ["-o", "remount,ro", path]) == 0)
            let error = openError(path)
            #expect(error?.code == "unwritable" || error?.code == "unreadable", "\(String(describing: error))")
            #expect(error?.description.contains(path + "/ledger.sqlite") == true)
            #expect(run("/bin/mount", ["-o", "remount,rw", path]) == 0)
            #expect(try await SQLiteLeaseStore(directory: path, logger: Sample.logger).load() == [lease])
        }
        if outcome == nil { Issue.record("could not mount a tmpfs") }
    }
}
