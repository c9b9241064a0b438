//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Why the lease ledger could not be opened, read or written. The description names the file and what to do.
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
    }

    private let kind: Kind
    /// The ledger file.
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

    /// Whether `--reset-state` (move the file aside and start empty) is a way out of this error.
    public var isResettable: Bool {
        switch kind {
        case .corrupt, .newerSchema, .unreadable: true
        case .unwritable, .writeFailed, .moveAsideFailed: false
        }
    }

    /// A short code for tests and logs: `corrupt`, `newer_schema`, `unreadable`, `unwritable`, `write_failed`,
    /// `move_aside_failed`.
    public var code: String {
        switch kind {
        case .corrupt: "corrupt"
        case .newerSchema: "newer_schema"
        case .unreadable: "unreadable"
        case .unwritable: "unwritable"
        case .writeFailed: "write_failed"
        case .moveAsideFailed: "move_aside_failed"
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
        }
    }
}
