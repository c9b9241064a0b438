//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import GRDB
import SlotgateCore

/// Maps a `Lease` to and from one row of the `lease` table (columns in `LedgerSchema.columns` order).
enum LeaseRow {
    /// The statement arguments of one row of `LedgerSchema.upserts`.
    static func arguments(_ lease: Lease) -> StatementArguments {
        let values: [(any DatabaseValueConvertible)?] = [
            lease.id.rawValue,
            lease.state.rawValue,
            lease.holder,
            Int64(lease.uid),
            Int64(lease.gid),
            Int64(lease.pid),
            Int64(lease.priority),
            lease.sessionID,
            lease.requestedAt.nanosecondsSinceEpoch,
            lease.grantedAt?.nanosecondsSinceEpoch,
            lease.expiresAt?.nanosecondsSinceEpoch,
            lease.releasedAt?.nanosecondsSinceEpoch,
            lease.claimTTL.nanoseconds,
            lease.host,
            lease.boundAt?.nanosecondsSinceEpoch,
            lease.waitDeadline?.nanosecondsSinceEpoch,
            lease.createInDoubtSince?.nanosecondsSinceEpoch,
            lease.countsUntilSnapshotAfter?.nanosecondsSinceEpoch,
        ]
        return StatementArguments(values)
    }

    /// Reads a row back.
    /// - Throws: `RowProblem` naming the first column whose value is missing, of the wrong type or out of range.
    static func lease(from row: Row) throws(RowProblem) -> Lease {
        guard let idText = text(row, "id"), let id = LeaseID(rawValue: idText) else { throw RowProblem("id") }
        guard let stateText = text(row, "state"), let state = LeaseState(rawValue: stateText) else {
            throw RowProblem("state", id: idText)
        }
        guard let holder = text(row, "holder"), let host = text(row, "host") else { throw RowProblem("holder/host", id: idText) }
        guard let uid = integer(row, "uid").flatMap(UInt32.init(exactly:)),
            let gid = integer(row, "gid").flatMap(UInt32.init(exactly:)),
            let pid = integer(row, "pid").flatMap(Int32.init(exactly:)),
            let priority = integer(row, "priority").flatMap(Int.init(exactly:))
        else { throw RowProblem("uid/gid/pid/priority", id: idText) }
        guard let requestedAt = integer(row, "requested_at"), let ttl = integer(row, "claim_ttl_ns") else {
            throw RowProblem("requested_at/claim_ttl_ns", id: idText)
        }
        var lease = Lease(
            id: id,
            holder: holder,
            uid: uid,
            gid: gid,
            pid: pid,
            priority: priority,
            claimTTL: .nanoseconds(ttl),
            requestedAt: Timestamp(nanosecondsSinceEpoch: requestedAt),
            host: host
        )
        lease.state = state
        lease.sessionID = text(row, "session_id")
        lease.grantedAt = time(row, "granted_at")
        lease.expiresAt = time(row, "expires_at")
        lease.releasedAt = time(row, "released_at")
        lease.boundAt = time(row, "bound_at")
        lease.waitDeadline = time(row, "wait_deadline")
        lease.createInDoubtSince = time(row, "create_in_doubt_since")
        lease.countsUntilSnapshotAfter = time(row, "counts_until_snapshot_after")
        return lease
    }

    /// A text column; nil when NULL or not text (a damaged row is reported, never trapped on).
    private static func text(_ row: Row, _ column: String) -> String? {
        (try? row.decode(String?.self, forColumn: column)) ?? nil
    }

    /// An integer column; nil when NULL or not an integer.
    private static func integer(_ row: Row, _ column: String) -> Int64? {
        (try? row.decode(Int64?.self, forColumn: column)) ?? nil
    }

    private static func time(_ row: Row, _ column: String) -> Timestamp? {
        integer(row, column).map { Timestamp(nanosecondsSinceEpoch: $0) }
    }

    /// A row that does not decode to a lease.
    struct RowProblem: Error, CustomStringConvertible {
        let column: String
        var id: String?

        init(_ column: String, id: String? = nil) {
            self.column = column
            self.id = id
        }

        var description: String { "row \(id ?? "?") has a bad \(column)" }
    }
}
