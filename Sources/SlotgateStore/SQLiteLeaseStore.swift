//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import GRDB
import Logging
import SlotgateCore
import Synchronization

/// The embedded lease ledger: one SQLite file, `<state.dir>/ledger.sqlite`, in WAL mode. A grant, bind or renewal
/// is committed before it is answered (design.md invariant 4): with `state.fsync` (`synchronous=FULL`) the WAL is
/// on disk when the commit returns; without it (`synchronous=NORMAL`, the default) the commit is in the operating
/// system, which a crash or kill of the daemon keeps, and reaches the disk at the next checkpoint. Writes that only
/// end leases are held for the next commit, at most `endsDelay` (`onlyEnds(_:)`); `flush()` writes them now.
///
/// One row per lease, whole: every write replaces the rows it names in one transaction. Ended leases are deleted
/// when the gatekeeper forgets them, and by `prune(endedBefore:)` at start and at most once an hour after that.
public final class SQLiteLeaseStore: LeaseStore {
    /// The ledger's file name in the state directory.
    public static let fileName = "ledger.sqlite"
    /// The schema version this build writes and reads.
    public static let schemaVersion = LedgerSchema.version

    /// The ledger file.
    public let path: String
    private let database: DatabaseQueue
    private let retention: Duration?
    private let clock: any TimestampClock
    private let lastPrune: Mutex<Timestamp>
    private let heldEnds = Mutex(HeldEnds())
    private let logger: Logger
    /// Called with every failed write at run time, thrown or in the background (the daemon counts them).
    private let onWriteFailure: @Sendable (StoreError) -> Void

    /// Opens (creating if needed) the ledger in `directory`, checks it and brings its schema up to date.
    /// - Parameters:
    ///   - directory: the state directory; created if missing.
    ///   - retention: how long ended leases stay; nil never prunes on its own (`prune(endedBefore:)` still works).
    ///   - fsync: whether a commit waits for the disk (`synchronous=FULL`) or only for the OS (`NORMAL`).
    ///   - clock: the clock for pruning.
    ///   - logger: the logger.
    ///   - onWriteFailure: called with every write, delete or prune that fails after the ledger is open, including
    ///     the background commit of held ended leases, which throws to nobody.
    /// - Throws: `StoreError`: `unreadable`, `corrupt`, `newer_schema` (all resettable with `--reset-state`), or
    ///   `unwritable` (a read-only directory).
    public init(
        directory: String,
        retention: Duration? = nil,
        fsync: Bool = false,
        clock: any TimestampClock = WallClock(),
        logger: Logger,
        onWriteFailure: @escaping @Sendable (StoreError) -> Void = { _ in }
    ) throws(StoreError) {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(Self.fileName).path
        self.path = path
        self.retention = retention
        self.clock = clock
        self.logger = logger
        self.onWriteFailure = onWriteFailure
        self.lastPrune = Mutex(clock.now)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritable(path, "the state directory \(directory) cannot be created: \(error.localizedDescription)")
        }
        var configuration = Configuration()
        configuration.label = "slotgate.ledger"
        configuration.journalMode = .wal
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // Only takes effect on a new, empty file; lets pruning hand pages back with `incremental_vacuum`.
            try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Self.classify(error, path: path, opening: true)
        }
        try Self.check(database, path: path)
        do {
            // GRDB sets `synchronous = NORMAL` when it turns WAL on, after `prepareDatabase`; with `state.fsync` set
            // FULL, so a commit is on disk (not only in the OS) before a grant is answered (swift-notes.md §4).
            let synchronous = fsync ? "FULL" : "NORMAL"
            try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(synchronous)") }
            try LedgerSchema.migrator.migrate(database)
            try database.write { db in
                // Also proves at start that the file can be written (a read-only or full file system stops here).
                try db.execute(sql: "PRAGMA user_version = \(LedgerSchema.version)")
            }
        } catch {
            throw Self.classify(error, path: path, opening: true)
        }
    }

    /// Refuses a file that is damaged or whose schema is newer than this build's.
    private static func check(_ database: DatabaseQueue, path: String) throws(StoreError) {
        let outcome: Result<(check: String, version: Int, superseded: Bool), any Error> = Result {
            try database.read { db in
                let check = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                let superseded = try LedgerSchema.migrator.hasBeenSuperseded(db)
                return (check, version, superseded)
            }
        }
        switch outcome {
        case .failure(let error):
            throw classify(error, path: path, opening: true)
        case .success(let found):
            guard found.check == "ok" else { throw .corrupt(path, "integrity check: \(found.check.prefix(200))") }
            if found.version > LedgerSchema.version || found.superseded {
                throw .newerSchema(path, found: max(found.version, LedgerSchema.version + 1), known: LedgerSchema.version)
            }
        }
    }

    /// Turns an SQLite error into the store's: at start a damaged file is `corrupt`, a refused write `unwritable`;
    /// at run time every failure is `write_failed`.
    static func classify(_ error: any Error, path: String, opening: Bool) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let database = error as? DatabaseError else {
            return opening ? .unreadable(path, "\(error)") : .writeFailed(path, "\(error)")
        }
        let reason = "SQLite error \(database.resultCode.rawValue): \(database.message ?? "no message")"
        guard opening else { return .writeFailed(path, reason) }
        switch database.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT: return .corrupt(path, reason)
        case .SQLITE_FULL: return .unwritable(path, reason)
        case .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH:
            if let denied = permissionDenied(path, reason) { return denied }
            if database.resultCode == .SQLITE_READONLY { return .unwritable(path, reason) }
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            // A read-only directory cannot hold the -wal and -shm files; say so rather than "cannot open".
            if FileManager.default.fileExists(atPath: path), !FileManager.default.isWritableFile(atPath: directory) {
                return .unwritable(path, reason)
            }
            return .unreadable(path, reason)
        default: return .unreadable(path, reason)
        }
    }

    /// A ledger file or state directory the daemon's user may not use: permission denied, never a reason to
    /// reset. Nil when access is not what failed.
    private static func permissionDenied(_ path: String, _ reason: String) -> StoreError? {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if access(directory, W_OK | X_OK) != 0, errno == EACCES || errno == EPERM {
            return .permissionDenied(directory, "cannot be written by the daemon's user (\(reason))")
        }
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            if access(file, R_OK | W_OK) != 0, errno == EACCES || errno == EPERM {
                return .permissionDenied(file, "cannot be read and written by the daemon's user (\(reason))")
            }
        }
        return nil
    }

    // MARK: LeasePersistence

    /// Replaces the rows of `leases`; returns once they are committed (on disk with `state.fsync`), together with
    /// the ended leases held since the last commit. A write in which every lease has ended or is draining
    /// (see ``onlyEnds(_:)``) is held instead and returns at once: it goes with the next commit, or on its own
    /// within ``endsDelay``. Waiting leases are never written (a waiter does not survive a restart).
    /// - Parameter leases: the leases.
    /// - Throws: `StoreError` `write_failed` (a full disk, a read-only file system, an I/O error); the ended leases
    ///   that were to go with it are held again.
    public func write(_ leases: [Lease]) async throws {
        let rows = leases.filter { $0.state != .waiting }
        guard !rows.isEmpty else { return }
        guard !Self.onlyEnds(rows) else { return holdEnds(rows) }
        do {
            // GRDB's blocking call runs the transaction on the calling thread (its queue is idle: dispatch_sync), so
            // a grant costs no hop to a dispatch thread and back. The caller is the gatekeeper, which waits for the
            // commit either way; on the daemon it runs on the request's event loop.
            try writeWithHeldEnds(rows)
        } catch {
            throw failed(error)
        }
    }

    /// How long an ended lease may wait for a commit to go with.
    public static let endsDelay: Duration = .milliseconds(100)

    /// Holds ended leases for the next commit and makes sure one comes within `endsDelay`.
    private func holdEnds(_ rows: [Lease]) {
        let arm = heldEnds.withLock { held in
            for lease in rows { held.leases[lease.id] = lease }
            defer { held.flushArmed = true }
            return !held.flushArmed
        }
        guard arm else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(Self.endsDelay.nanoseconds))) { [weak self] in
            self?.writeHeldEnds()
        }
    }

    /// Commits `rows` and the held ended leases in one statement (or one transaction when there are many). The
    /// held ones are taken on the ledger's queue, so whichever commit runs first carries them, in order.
    private func writeWithHeldEnds(_ rows: [Lease]) throws {
        try database.writeWithoutTransaction { db in
            let ids = Set(rows.map(\.id))
            let ended = heldEnds.withLock { held in
                let taken = held.leases.values.filter { !ids.contains($0.id) }
                held.leases.removeAll()
                return taken
            }
            do {
                try Self.upsert(ended + rows, in: db)
            } catch {
                holdAgain(ended)
                throw error
            }
        }
    }

    /// Writes what is held (the delay ran out, or a read or shutdown needs it on disk). A failure is logged and
    /// the leases are held again for the next commit.
    private func writeHeldEnds() {
        heldEnds.withLock { $0.flushArmed = false }
        do {
            try writeWithHeldEnds([])
        } catch {
            logger.error(
                "could not write ended leases to the ledger; they go with the next write",
                metadata: ["path": "\(path)", "error": "\(failed(error))"]
            )
        }
    }

    /// Puts back ended leases whose commit failed, unless a newer state of the same lease came meanwhile.
    private func holdAgain(_ ended: [Lease]) {
        heldEnds.withLock { held in
            for lease in ended where held.leases[lease.id] == nil { held.leases[lease.id] = lease }
        }
    }

    /// Commits the ended leases still held (at shutdown, and in tests).
    public func flush() {
        writeHeldEnds()
    }

    /// Replaces `rows` in one statement per 64 rows; one statement is its own transaction (SQLite's autocommit
    /// mode), so `BEGIN` and `COMMIT` around it would only cost time.
    private static func upsert(_ rows: [Lease], in db: Database) throws {
        guard !rows.isEmpty else { return }
        let chunks = stride(from: 0, to: rows.count, by: 64).map { rows[$0..<min($0 + 64, rows.count)] }
        try transaction(statements: chunks.count, in: db) { db in
            for chunk in chunks {
                var arguments = StatementArguments()
                for lease in chunk { arguments += LeaseRow.arguments(lease) }
                try db.cachedStatement(sql: LedgerSchema.upserts[chunk.count - 1]).execute(arguments: arguments)
            }
        }
    }

    /// Deletes the rows of `ids` in one transaction, then prunes old ended leases if the last prune was an hour ago.
    /// - Parameter ids: the lease ids.
    /// - Throws: `StoreError` `write_failed`.
    public func forget(_ ids: [LeaseID]) async throws {
        guard !ids.isEmpty else { return }
        heldEnds.withLock { held in
            for id in ids { held.leases[id] = nil }
        }
        do {
            try writeNow { db in
                let statement = try db.cachedStatement(sql: "DELETE FROM lease WHERE id = ?")
                for id in ids { try statement.execute(arguments: [id.rawValue]) }
            }
        } catch {
            throw failed(error)
        }
        try await pruneIfDue()
    }

    /// Whether a write only ends leases or starts their draining (released, expired, draining): one the daemon
    /// may lose to a crash without breaking an invariant, so it is held for the next commit (at most `endsDelay`)
    /// and answered at once. Were it lost, the restarted daemon would read those leases as still granted or
    /// bound: it counts their slots as held until they expire or their sessions end, which is conservative (no
    /// over-grant, no early free, no leak). Grants, binds, renewals and everything else are committed before the
    /// caller goes on (invariant 4).
    /// - Parameter rows: the leases of the write.
    static func onlyEnds(_ rows: [Lease]) -> Bool {
        rows.allSatisfy { $0.state == .released || $0.state == .expired || $0.state == .draining }
    }

    /// One transaction with GRDB's blocking call (a synchronous function, so that the blocking overload is taken).
    private func writeNow(_ updates: (Database) throws -> Void) throws {
        try database.write(updates)
    }

    /// Runs `updates` as one transaction. One statement runs in SQLite's autocommit mode: it is its own
    /// transaction, and `BEGIN` and `COMMIT` around it would only cost time.
    private static func transaction(statements: Int, in db: Database, _ updates: (Database) throws -> Void) throws {
        guard statements != 1 else { return try updates(db) }
        try db.inTransaction {
            try updates(db)
            return .commit
        }
    }

    // MARK: LeaseStore

    /// Every stored lease: live ones in id order, then ended ones by end time.
    /// - Throws: `StoreError` `corrupt` when a row does not decode, `unreadable` when the file cannot be read.
    public func load() async throws -> [Lease] {
        writeHeldEnds()
        do {
            return try await database.read { db in
                var leases: [Lease] = []
                let rows = try Row.fetchCursor(db, sql: LedgerSchema.selectAll)
                while let row = try rows.next() { leases.append(try LeaseRow.lease(from: row)) }
                return leases
            }
        } catch let problem as LeaseRow.RowProblem {
            throw StoreError.corrupt(path, problem.description)
        } catch {
            throw Self.classify(error, path: path, opening: true)
        }
    }

    /// Deletes ended leases that ended before `cutoff`, then hands free pages back to the file system.
    /// - Parameter cutoff: the cutoff.
    /// - Returns: how many rows went.
    @discardableResult
    public func prune(endedBefore cutoff: Timestamp) async throws -> Int {
        writeHeldEnds()
        do {
            let deleted = try await database.write { db in
                try db.execute(sql: "DELETE FROM lease WHERE released_at IS NOT NULL AND released_at < ?", arguments: [cutoff.nanosecondsSinceEpoch])
                return db.changesCount
            }
            try await database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA incremental_vacuum") }
            lastPrune.withLock { $0 = clock.now }
            if deleted > 0 { logger.debug("pruned ended leases from the ledger", metadata: ["count": "\(deleted)"]) }
            return deleted
        } catch {
            throw failed(error)
        }
    }

    /// Classifies a failed write and reports it to `onWriteFailure`.
    private func failed(_ error: any Error) -> StoreError {
        let classified = Self.classify(error, path: path, opening: false)
        onWriteFailure(classified)
        return classified
    }

    /// Prunes with the retention when the last prune is an hour old (the gatekeeper's forgets do most of the work;
    /// this catches rows it never held, such as ended leases of a run with a longer retention).
    private func pruneIfDue() async throws {
        guard let retention else { return }
        let now = clock.now
        let due = lastPrune.withLock { last in
            guard last.duration(to: now) >= .seconds(3600) else { return false }
            last = now
            return true
        }
        if due { try await prune(endedBefore: now.advanced(by: .zero - retention)) }
    }

    // MARK: Inspection

    /// Reads one PRAGMA's value (`synchronous`, `journal_mode`, `auto_vacuum`, `user_version`), for tests and
    /// diagnostics.
    /// - Parameter name: the pragma's name.
    public func pragma(_ name: String) async throws -> String? {
        guard name.allSatisfy({ $0.isLetter || $0 == "_" }) else { return nil }
        return try await database.read { db in try String.fetchOne(db, sql: "PRAGMA \(name)") }
    }

    /// Runs SQL on the ledger's connection outside a transaction; tests use it to limit the file
    /// (`PRAGMA max_page_count`) or make it refuse writes (`PRAGMA query_only`).
    /// - Parameter sql: the statements.
    public func unsafeExecute(_ sql: String) async throws {
        try await database.writeWithoutTransaction { db in try db.execute(sql: sql) }
    }

    /// Copies committed WAL pages into the main file and truncates the WAL, so the file size is the ledger's size.
    public func checkpoint() async throws {
        try await database.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
    }
}

/// Ended leases waiting for a commit to go with (`SQLiteLeaseStore.write(_:)`).
private struct HeldEnds {
    /// The newest state of each, by id.
    var leases: [LeaseID: Lease] = [:]
    /// Whether a write of them is already scheduled.
    var flushArmed = false
}
