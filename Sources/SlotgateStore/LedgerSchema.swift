//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import GRDB

/// The ledger's versioned schema. A new version adds a migration here and raises `version`; a file whose
/// `user_version` or applied migrations go beyond what this build knows is refused at start.
enum LedgerSchema {
    /// The schema version this build writes (`PRAGMA user_version`).
    static let version = 1

    /// Every column of the `lease` table, in the order `LeaseRow` binds and reads them.
    static let columns = [
        "id", "state", "holder", "uid", "gid", "pid", "priority", "session_id", "requested_at", "granted_at",
        "expires_at", "released_at", "claim_ttl_ns", "host", "bound_at", "wait_deadline", "create_in_doubt_since",
        "counts_until_snapshot_after",
    ]

    /// The migrations, in order. Times are integer nanoseconds since the Unix epoch; durations integer nanoseconds.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE lease (
                        id TEXT PRIMARY KEY NOT NULL,
                        state TEXT NOT NULL,
                        holder TEXT NOT NULL,
                        uid INTEGER NOT NULL,
                        gid INTEGER NOT NULL,
                        pid INTEGER NOT NULL,
                        priority INTEGER NOT NULL,
                        session_id TEXT,
                        requested_at INTEGER NOT NULL,
                        granted_at INTEGER,
                        expires_at INTEGER,
                        released_at INTEGER,
                        claim_ttl_ns INTEGER NOT NULL,
                        host TEXT NOT NULL,
                        bound_at INTEGER,
                        wait_deadline INTEGER,
                        create_in_doubt_since INTEGER,
                        counts_until_snapshot_after INTEGER
                    ) WITHOUT ROWID;
                    CREATE INDEX lease_released_at ON lease(released_at) WHERE released_at IS NOT NULL;
                    """
            )
        }
        return migrator
    }

    /// `INSERT OR REPLACE` of 1 to 64 whole rows in one statement: `upserts[n - 1]` writes n rows.
    static let upserts = (1...64).map(upsert(rows:))

    /// `INSERT OR REPLACE` of `rows` whole rows in one statement.
    static func upsert(rows: Int) -> String {
        let row = "(\(columns.map { _ in "?" }.joined(separator: ", ")))"
        let values = Array(repeating: row, count: rows).joined(separator: ", ")
        return "INSERT OR REPLACE INTO lease (\(columns.joined(separator: ", "))) VALUES \(values)"
    }

    /// Every row, live ones first in id (grant) order, then ended ones by end time, so a restore rebuilds the
    /// core's history in order.
    static let selectAll =
        "SELECT \(columns.joined(separator: ", ")) FROM lease ORDER BY released_at IS NOT NULL, released_at, id"
}
