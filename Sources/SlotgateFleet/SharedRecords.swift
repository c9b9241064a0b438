//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateCore

/// A lease as the fleet's tables keep it (JSON in a text column; times in nanoseconds since the epoch).
struct LeaseRecord: Codable, Sendable, Hashable {
    var id: String
    var state: String
    var holder: String
    var uid: UInt32
    var gid: UInt32
    var pid: Int32
    var priority: Int
    var session: String?
    var requestedAt: Int64
    var grantedAt: Int64?
    var expiresAt: Int64?
    var releasedAt: Int64?
    var claimTTLNanoseconds: Int64
    var host: String
    var boundAt: Int64?
    var waitDeadline: Int64?
    var createInDoubtSince: Int64?
    var countsUntilSnapshotAfter: Int64?

    init(_ lease: Lease) {
        id = lease.id.rawValue
        state = lease.state.rawValue
        holder = lease.holder
        uid = lease.uid
        gid = lease.gid
        pid = lease.pid
        priority = lease.priority
        session = lease.sessionID
        requestedAt = lease.requestedAt.nanosecondsSinceEpoch
        grantedAt = lease.grantedAt?.nanosecondsSinceEpoch
        expiresAt = lease.expiresAt?.nanosecondsSinceEpoch
        releasedAt = lease.releasedAt?.nanosecondsSinceEpoch
        claimTTLNanoseconds = lease.claimTTL.nanoseconds
        host = lease.host
        boundAt = lease.boundAt?.nanosecondsSinceEpoch
        waitDeadline = lease.waitDeadline?.nanosecondsSinceEpoch
        createInDoubtSince = lease.createInDoubtSince?.nanosecondsSinceEpoch
        countsUntilSnapshotAfter = lease.countsUntilSnapshotAfter?.nanosecondsSinceEpoch
    }

    /// The lease; nil when the record is damaged (an id or state this version cannot read).
    var lease: Lease? {
        guard let id = LeaseID(rawValue: id), let state = LeaseState(rawValue: state) else { return nil }
        var lease = Lease(
            id: id,
            holder: holder,
            uid: uid,
            gid: gid,
            pid: pid,
            priority: priority,
            claimTTL: .nanoseconds(claimTTLNanoseconds),
            requestedAt: Timestamp(nanosecondsSinceEpoch: requestedAt),
            host: host
        )
        lease.state = state
        lease.sessionID = session
        lease.grantedAt = grantedAt.map(Timestamp.init(nanosecondsSinceEpoch:))
        lease.expiresAt = expiresAt.map(Timestamp.init(nanosecondsSinceEpoch:))
        lease.releasedAt = releasedAt.map(Timestamp.init(nanosecondsSinceEpoch:))
        lease.boundAt = boundAt.map(Timestamp.init(nanosecondsSinceEpoch:))
        lease.waitDeadline = waitDeadline.map(Timestamp.init(nanosecondsSinceEpoch:))
        lease.createInDoubtSince = createInDoubtSince.map(Timestamp.init(nanosecondsSinceEpoch:))
        lease.countsUntilSnapshotAfter = countsUntilSnapshotAfter.map(Timestamp.init(nanosecondsSinceEpoch:))
        return lease
    }
}

/// A waiting request of some host (the tickets table).
struct TicketRecord: Codable, Sendable, Hashable {
    var lease: LeaseRecord
    var deadline: Int64?
    var sequence: Int64

    init(_ waiter: WaitQueue.Waiter) {
        lease = LeaseRecord(waiter.lease)
        deadline = waiter.deadline?.nanosecondsSinceEpoch
        sequence = waiter.sequence
    }

    var waiter: WaitQueue.Waiter? {
        guard let lease = lease.lease else { return nil }
        return WaitQueue.Waiter(lease: lease, deadline: deadline.map(Timestamp.init(nanosecondsSinceEpoch:)), sequence: sequence)
    }
}

/// Everything of the fleet's state that is not a lease or a ticket: the reading, credits, counters.
struct FleetRecord: Codable, Sendable, Hashable {
    struct Listed: Codable, Sendable, Hashable {
        var id: String
        var status: String
    }

    struct Reading: Codable, Sendable, Hashable {
        var sentAt: Int64
        var scope: String
        var limit: Int
        var active: Int
        var sessions: [Listed]?
    }

    struct Tokens: Codable, Sendable, Hashable {
        var limit: Int?
        var used: Int?
        var remaining: Int?
        var windowStart: Int64?
        var windowEnd: Int64?
        var sentAt: Int64
    }

    struct Asked: Codable, Sendable, Hashable {
        var askedAt: Int64
        var attempts: Int
    }

    var reading: Reading?
    /// Credits: each session's bind time.
    var terminated: [String: Int64]
    /// Credits: when each end was reported; absent in rows written before it existed (the bind time stands in,
    /// which ends such a credit sooner, never later).
    var terminatedReportedAt: [String: Int64]?
    var confirmations: [String: Asked]
    var saturatedSince: Int64?
    var tokens: Tokens?
    var lastPollFailure: String?
    var grantsTotal: Int
    var rejected429Total: Int
    var sequenceTail: Int64
    var sequenceHead: Int64

    init(_ state: SharedGatekeeperState) {
        reading = state.snapshot.map { snapshot in
            Reading(
                sentAt: snapshot.sentAt.nanosecondsSinceEpoch,
                scope: snapshot.quota.scope.rawValue,
                limit: snapshot.quota.limit,
                active: snapshot.quota.active,
                sessions: snapshot.sessions?.map { Listed(id: $0.id, status: $0.status.rawValue) }
            )
        }
        terminated = state.terminated.mapValues(\.boundAt.nanosecondsSinceEpoch)
        terminatedReportedAt = state.terminated.mapValues(\.reportedAt.nanosecondsSinceEpoch)
        confirmations = state.confirmations.mapValues { Asked(askedAt: $0.askedAt.nanosecondsSinceEpoch, attempts: $0.attempts) }
        saturatedSince = state.saturatedSince?.nanosecondsSinceEpoch
        tokens = state.tokens.map {
            Tokens(
                limit: $0.limit,
                used: $0.used,
                remaining: $0.remaining,
                windowStart: $0.windowStart?.nanosecondsSinceEpoch,
                windowEnd: $0.windowEnd?.nanosecondsSinceEpoch,
                sentAt: $0.sentAt.nanosecondsSinceEpoch
            )
        }
        lastPollFailure = state.lastPollFailure
        grantsTotal = state.grantsTotal
        rejected429Total = state.rejected429Total
        sequenceTail = state.sequences.tail
        sequenceHead = state.sequences.head
    }

    /// Fills the non-lease part of `state`.
    func apply(to state: inout SharedGatekeeperState) {
        state.snapshot = reading.map { reading in
            PlatformSnapshot(
                sentAt: Timestamp(nanosecondsSinceEpoch: reading.sentAt),
                quota: QuotaReading(scope: QuotaScope(rawValue: reading.scope) ?? .org, limit: reading.limit, active: reading.active),
                sessions: reading.sessions?.map { ListedSession(id: $0.id, status: SessionStatus(rawValue: $0.status)) }
            )
        }
        state.terminated = Dictionary(
            uniqueKeysWithValues: terminated.map { session, boundAt in
                let reportedAt = terminatedReportedAt?[session] ?? boundAt
                return (session, EndedSession(boundAt: .init(nanosecondsSinceEpoch: boundAt), reportedAt: .init(nanosecondsSinceEpoch: reportedAt)))
            }
        )
        state.confirmations = confirmations.mapValues {
            SharedGatekeeperState.Confirmation(askedAt: Timestamp(nanosecondsSinceEpoch: $0.askedAt), attempts: $0.attempts)
        }
        state.saturatedSince = saturatedSince.map(Timestamp.init(nanosecondsSinceEpoch:))
        state.tokens = tokens.map {
            TokenReading(
                limit: $0.limit,
                used: $0.used,
                remaining: $0.remaining,
                windowStart: $0.windowStart.map(Timestamp.init(nanosecondsSinceEpoch:)),
                windowEnd: $0.windowEnd.map(Timestamp.init(nanosecondsSinceEpoch:)),
                sentAt: Timestamp(nanosecondsSinceEpoch: $0.sentAt)
            )
        }
        state.lastPollFailure = lastPollFailure
        state.grantsTotal = grantsTotal
        state.rejected429Total = rejected429Total
        state.sequences = (sequenceTail, sequenceHead)
    }
}

enum RecordCoding {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
