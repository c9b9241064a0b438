//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Why the lease ledger could not be opened, read or written, or the state directory could not be locked. The
/// description names the file and what to do.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Sendable, Hashable {
        /// The file is not a database, or a check of its pages failed.
        case corrupt(String)
        /// The file was written by a newer slotgate (its schema version is above the one this build knows).
        case newerSchema(found: Int, known: Int)
        /// The file or its directory could not be opened or read.
        case unreadable(String)
        /// The file cannot be written at start (a read-only or full file system); the leases in it are kept.
        case unwritable(String)
        /// A write or delete failed at run time (a full disk, a read-only file system, an I/O error).
        case writeFailed(String)
        /// Moving a broken ledger aside (`--reset-state`) failed.
        case moveAsideFailed(String)
        /// Another process holds the state directory's lock: what its lock file records, if anything usable.
        case stateDirectoryInUse(directory: String, holder: StateDirectoryLock.Holder?)
        /// The lock file could not be created, opened, locked or written.
        case lockFailed(String)
        /// The daemon's user may not create, open or write a file of the state directory (EACCES, EPERM).
        case permissionDenied(String)
    }

    private let kind: Kind
    /// The ledger file, or the lock file for `state_dir_in_use` and `lock_failed`.
    public let path: String

    private init(_ kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    static func corrupt(_ path: String, _ reason: String) -> StoreError { StoreError(.corrupt(reason), path: path) }
    static func newerSchema(_ path: String, found: Int, known: Int) -> StoreError {
        StoreError(.newerSchema(found: found, known: known), path: path)
    }
    static func unreadable(_ path: String, _ reason: String) -> StoreError { StoreError(.unreadable(reason), path: path) }
    static func unwritable(_ path: String, _ reason: String) -> StoreError { StoreError(.unwritable(reason), path: path) }
    static func writeFailed(_ path: String, _ reason: String) -> StoreError { StoreError(.writeFailed(reason), path: path) }
    static func moveAsideFailed(_ path: String, _ reason: String) -> StoreError { StoreError(.moveAsideFailed(reason), path: path) }
    static func stateDirectoryInUse(_ path: String, directory: String, holder: StateDirectoryLock.Holder?) -> StoreError {
        StoreError(.stateDirectoryInUse(directory: directory, holder: holder), path: path)
    }
    static func lockFailed(_ path: String, _ reason: String) -> StoreError { StoreError(.lockFailed(reason), path: path) }
    static func permissionDenied(_ path: String, _ reason: String) -> StoreError { StoreError(.permissionDenied(reason), path: path) }

    /// Whether the error is the daemon's user lacking access to the state directory (exit 77, EX_NOPERM).
    public var isPermissionDenied: Bool {
        if case .permissionDenied = kind { return true }
        return false
    }

    /// For `state_dir_in_use`: the daemon holding the lock, as its lock file records it (nil when the file records
    /// no live process, such as in the moment between another daemon's lock and its record).
    public var lockHolder: StateDirectoryLock.Holder? {
        guard case .stateDirectoryInUse(_, let holder) = kind else { return nil }
        return holder
    }

    /// Whether `--reset-state` (move the file aside and start empty) is a way out of this error.
    public var isResettable: Bool {
        switch kind {
        case .corrupt, .newerSchema, .unreadable: true
        case .unwritable, .writeFailed, .moveAsideFailed, .stateDirectoryInUse, .lockFailed, .permissionDenied: false
        }
    }

    /// A short code for tests and logs: `corrupt`, `newer_schema`, `unreadable`, `unwritable`, `write_failed`,
    /// `move_aside_failed`, `state_dir_in_use`, `lock_failed`, `permission_denied`.
    public var code: String {
        switch kind {
        case .corrupt: "corrupt"
        case .newerSchema: "newer_schema"
        case .unreadable: "unreadable"
        case .unwritable: "unwritable"
        case .writeFailed: "write_failed"
        case .moveAsideFailed: "move_aside_failed"
        case .stateDirectoryInUse: "state_dir_in_use"
        case .lockFailed: "lock_failed"
        case .permissionDenied: "permission_denied"
        }
    }

    public var description: String {
        let reset =
            "Repair or restore the file, or start once with --reset-state to move it aside as \(path).broken-<time> "
            + "and start with an empty ledger (the leases in it are then forgotten)."
        switch kind {
        case .corrupt(let reason):
            return "the lease ledger \(path) is corrupt (\(reason)). \(reset)"
        case .newerSchema(let found, let known):
            return "the lease ledger \(path) has schema version \(found), newer than version \(known) that this slotgated knows: "
                + "it was written by a newer slotgated. Run that version again, or \(reset.prefix(1).lowercased())\(reset.dropFirst())"
        case .unreadable(let reason):
            return "the lease ledger \(path) cannot be opened (\(reason)). \(reset)"
        case .unwritable(let reason):
            return "the lease ledger \(path) cannot be written (\(reason)). Make the state directory (state.dir, --state-dir) "
                + "writable or free space on its file system, and start again; the leases in it are kept."
        case .writeFailed(let reason):
            return "could not write the lease ledger \(path): \(reason)"
        case .moveAsideFailed(let reason):
            return "--reset-state could not move the lease ledger \(path) aside (\(reason)); move or remove it by hand."
        case .stateDirectoryInUse(let directory, let holder?):
            return "the state directory \(directory) is in use by slotgated pid \(holder.pid) (socket \(holder.socketPath)); "
                + "one daemon per state directory (state.dir)"
        case .stateDirectoryInUse(let directory, nil):
            return "the state directory \(directory) is in use by another process (its lock file \(path) names no running slotgated); "
                + "one daemon per state directory (state.dir)"
        case .lockFailed(let reason):
            return "cannot lock the state directory: \(path) \(reason)"
        case .permissionDenied(let reason):
            return "permission denied: \(path) \(reason). Give the daemon's user (the unit's User=, or whoever runs slotgated) "
                + "read and write access to the state directory (state.dir, --state-dir); nothing in it was changed."
        }
    }
}
