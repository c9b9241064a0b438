//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import PostgresNIO
import SlotgateCore
import Synchronization

/// The fleet's one gatekeeper state in PostgreSQL (design.md "Shared mode"): leases and waiting tickets of every
/// host in tables, the rest of the state (reading, credits, counters) in one row. A decision is one transaction
/// under a transaction-level advisory lock of the fleet; its notices go out with `pg_notify`, delivered on commit.
public struct PostgresSharedStore: SharedStateStore {
    /// The advisory lock keys (one fleet per database).
    enum LockKey {
        /// Held for the length of each decision's transaction.
        static let decision: Int64 = 0x736C_6F74_0001
        /// Held by the polling host's session.
        static let poller: Int64 = 0x736C_6F74_0002
        /// Held while the schema is created or migrated.
        static let schema: Int64 = 0x736C_6F74_0003
    }

    /// The NOTIFY channel.
    static let channel = "slotgate_fleet"
    /// A host whose heartbeat is older than this is gone: its waiters are withdrawn.
    static let goneAfterSeconds = 15
    /// A host whose heartbeat is older than this may be granting from its fallback share: the fleet keeps that
    /// many slots free (a host falls back only after 5 s without the database).
    static let lateAfterSeconds = 3
    /// For at most this long (a host grants from its share for less: see `Gatekeeper.fallbackGrantWindow`).
    static let absentReserveSeconds = 600
    /// Every database call gives up after this long, so an unreachable database shows at once.
    static let callTimeout = Duration.seconds(5)

    let client: PostgresClient
    let host: String
    let logger: Logger
    /// Told the number of statements (database round trips) of each decision's transaction.
    let onDecision: @Sendable (_ statements: Int) -> Void

    /// Creates the store.
    /// - Parameters:
    ///   - client: the pool (run it in the service group).
    ///   - host: this host's id.
    ///   - logger: the logger.
    ///   - onDecision: told each decision's number of statements (for `/metrics`).
    public init(client: PostgresClient, host: String, logger: Logger, onDecision: @escaping @Sendable (_ statements: Int) -> Void = { _ in }) {
        self.client = client
        self.host = host
        self.logger = logger
        self.onDecision = onDecision
    }

    public func transact<T: Sendable>(
        naming ids: [LeaseID],
        _ decide: @escaping @Sendable (SharedGatekeeperState, Timestamp) -> SharedDecision<T>
    ) async throws -> T {
        let logger = logger
        let host = host
        let (value, statements) = try await withTimeout(Self.callTimeout) {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(LockKey.decision))", logger: logger)
                let (state, now) = try await Self.load(connection, naming: ids, host: host, logger: logger)
                let decision = decide(state, now)
                let writes = try await Self.write(decision.state, over: state, on: connection, logger: logger)
                let notices = try await Self.notify(decision.notices, from: host, on: connection, logger: logger)
                // BEGIN, the lock, the loads, the writes, the notices, COMMIT.
                return (decision.value, 3 + Self.loadStatements + writes + notices)
            }
        }
        onDecision(statements)
        return value
    }

    public func read(naming ids: [LeaseID]) async throws -> SharedGatekeeperState {
        let logger = logger
        let host = host
        return try await withTimeout(Self.callTimeout) {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
                return try await Self.load(connection, naming: ids, host: host, logger: logger).0
            }
        }
    }

    public func recentlyEnded(within window: Duration) async throws -> [Lease] {
        let logger = logger
        let cutoff = WallClock().now.advanced(by: .zero - window).nanosecondsSinceEpoch
        return try await withTimeout(Self.callTimeout) {
            var leases: [Lease] = []
            let rows = try await client.query(
                "SELECT body FROM slotgate_leases WHERE ended_at IS NOT NULL AND ended_at >= \(cutoff) AND NOT counting",
                logger: logger
            )
            for try await body in rows.decode(String.self) {
                if let lease = try RecordCoding.decode(LeaseRecord.self, from: body).lease { leases.append(lease) }
            }
            return leases
        }
    }

    public func members() async throws -> FleetMembers {
        let logger = logger
        return try await withTimeout(Self.callTimeout) {
            var seen: [String: Duration] = [:]
            var shares: [String: Int] = [:]
            let rows = try await client.query(
                """
                SELECT host_id, (extract(epoch from clock_timestamp() - seen_at) * 1000)::bigint, fallback_share FROM slotgate_hosts
                WHERE seen_at > now() - make_interval(secs => \(Self.absentReserveSeconds))
                """,
                logger: logger
            )
            for try await (name, ageMs, share) in rows.decode((String, Int64, Int).self) {
                seen[name] = .milliseconds(max(0, ageMs))
                shares[name] = share
            }
            var poller: String? = nil
            let holders = try await client.query(
                """
                SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = \(LockKey.poller >> 32)
                    AND l.objid::bigint = \(LockKey.poller & 0xFFFF_FFFF)
                """,
                logger: logger
            )
            for try await name in holders.decode(String.self) { poller = Self.pollerHost(fromApplicationName: name) ?? poller }
            return FleetMembers(poller: poller, seen: seen, shares: shares)
        }
    }

    /// Writes this host's heartbeat (every host does, every couple of seconds).
    /// - Parameter fallbackShare: this host's `shared.fallback_share`.
    public func heartbeat(fallbackShare: Int) async throws {
        let logger = logger
        let host = host
        try await withTimeout(Self.callTimeout) {
            try await client.query(
                """
                INSERT INTO slotgate_hosts (host_id, seen_at, fallback_share) VALUES (\(host), now(), \(fallbackShare))
                ON CONFLICT (host_id) DO UPDATE SET seen_at = now(), fallback_share = excluded.fallback_share
                """,
                logger: logger
            )
        }
    }

    /// Deletes ended leases that ended more than `retention` ago and no longer count.
    /// - Parameter retention: how long ended leases stay listed.
    public func prune(retention: Duration) async throws {
        let logger = logger
        let cutoff = WallClock().now.advanced(by: .zero - retention).nanosecondsSinceEpoch
        try await withTimeout(Self.callTimeout) {
            try await client.query(
                "DELETE FROM slotgate_leases WHERE NOT counting AND ended_at IS NOT NULL AND ended_at < \(cutoff)",
                logger: logger
            )
        }
    }

    // MARK: Loading and writing

    private static func load(
        _ connection: PostgresConnection,
        naming ids: [LeaseID],
        host: String,
        logger: Logger
    ) async throws -> (SharedGatekeeperState, Timestamp) {
        var state = SharedGatekeeperState()
        var now = WallClock().now
        let named = ids.map(\.rawValue)
        // One statement, one round trip, one snapshot (taken after the lock: the lock is a statement of its own).
        let rows = try await connection.query(
            """
            SELECT 'clock', (extract(epoch from clock_timestamp()) * 1000000)::bigint, NULL::text
            UNION ALL SELECT 'fleet', version, body FROM slotgate_fleet WHERE name = 'fleet'
            UNION ALL SELECT 'lease', 0, body FROM slotgate_leases
                WHERE state IN ('granted', 'bound', 'draining') OR counting OR id = ANY(\(named))
            UNION ALL SELECT 'ticket', 0, body FROM slotgate_tickets
            UNION ALL SELECT 'gone', 0, host_id FROM slotgate_hosts
                WHERE seen_at < now() - make_interval(secs => \(goneAfterSeconds))
            UNION ALL SELECT 'absent', coalesce(sum(fallback_share), 0)::bigint, NULL::text FROM slotgate_hosts
                WHERE host_id <> \(host) AND seen_at < now() - make_interval(secs => \(lateAfterSeconds))
                    AND seen_at > now() - make_interval(secs => \(absentReserveSeconds))
            """,
            logger: logger
        )
        for try await (kind, number, text) in rows.decode((String, Int64, String?).self) {
            switch (kind, text) {
            case ("clock", _):
                now = Timestamp(nanosecondsSinceEpoch: number * 1000)
            case ("fleet", let body?):
                try RecordCoding.decode(FleetRecord.self, from: body).apply(to: &state)
                state.version = number
            case ("lease", let body?):
                if let lease = try RecordCoding.decode(LeaseRecord.self, from: body).lease { state.leases.append(lease) }
            case ("ticket", let body?):
                if let waiter = try RecordCoding.decode(TicketRecord.self, from: body).waiter { state.waiters.append(waiter) }
            case ("gone", let name?):
                state.goneHosts.insert(name)
            case ("absent", _):
                state.absentShares = Int(number)
            default:
                continue
            }
        }
        return (state, now)
    }

    /// The statements `load` sends.
    static let loadStatements = 1

    /// Writes what changed; returns the number of statements sent.
    private static func write(
        _ new: SharedGatekeeperState,
        over old: SharedGatekeeperState,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int {
        var statements = 0
        var changed = false
        let before = Dictionary(old.leases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.leases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for (id, lease) in after where before[id] != lease {
            changed = true
            let body = try RecordCoding.encode(LeaseRecord(lease))
            let counting = lease.state.isEnded && lease.countsUntilSnapshotAfter != nil
            statements += 1
            try await connection.query(
                """
                INSERT INTO slotgate_leases (id, host, state, counting, ended_at, body)
                VALUES (\(id.rawValue), \(lease.host), \(lease.state.rawValue), \(counting), \(lease.releasedAt?.nanosecondsSinceEpoch), \(body))
                ON CONFLICT (id) DO UPDATE SET host = excluded.host, state = excluded.state, counting = excluded.counting,
                    ended_at = excluded.ended_at, body = excluded.body
                """,
                logger: logger
            )
        }
        let gone = before.keys.filter { after[$0] == nil }.map(\.rawValue)
        if !gone.isEmpty {
            changed = true
            statements += 1
            try await connection.query("DELETE FROM slotgate_leases WHERE id = ANY(\(gone))", logger: logger)
        }
        let waitingBefore = Dictionary(old.waiters.map { ($0.lease.id, $0) }, uniquingKeysWith: { first, _ in first })
        let waitingAfter = Dictionary(new.waiters.map { ($0.lease.id, $0) }, uniquingKeysWith: { first, _ in first })
        let left = waitingBefore.keys.filter { waitingAfter[$0] == nil }.map(\.rawValue)
        if !left.isEmpty {
            changed = true
            statements += 1
            try await connection.query("DELETE FROM slotgate_tickets WHERE id = ANY(\(left))", logger: logger)
        }
        for (id, waiter) in waitingAfter where waitingBefore[id] != waiter {
            changed = true
            let body = try RecordCoding.encode(TicketRecord(waiter))
            statements += 1
            try await connection.query(
                """
                INSERT INTO slotgate_tickets (id, host, sequence, body) VALUES (\(id.rawValue), \(waiter.lease.host), \(waiter.sequence), \(body))
                ON CONFLICT (id) DO UPDATE SET host = excluded.host, sequence = excluded.sequence, body = excluded.body
                """,
                logger: logger
            )
        }
        let record = FleetRecord(new)
        guard changed || record != FleetRecord(old) else { return statements }
        let body = try RecordCoding.encode(record)
        statements += 1
        try await connection.query(
            """
            INSERT INTO slotgate_fleet (name, version, body) VALUES ('fleet', \(old.version + 1), \(body))
            ON CONFLICT (name) DO UPDATE SET version = excluded.version, body = excluded.body
            """,
            logger: logger
        )
        return statements
    }

    /// Sends the notices; returns the number of statements sent.
    private static func notify(_ notices: [FleetNotice], from host: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let payloads = FleetNoticeCoding.payloads(notices, from: host)
        for payload in payloads {
            try await connection.query("SELECT pg_notify(\(channel), \(payload))", logger: logger)
        }
        return payloads.count
    }

    // MARK: Poller names

    /// The `application_name` of the polling host's claim connection.
    static func pollerApplicationName(host: String) -> String { "slotgate-poller:\(host)" }

    static func pollerHost(fromApplicationName name: String) -> String? {
        let prefix = "slotgate-poller:"
        guard name.hasPrefix(prefix) else { return nil }
        return String(name.dropFirst(prefix.count))
    }
}

/// Runs `body`, giving up with `FleetDatabaseTimeout` after `limit`. The caller is answered at the limit even if
/// `body` does not heed cancellation (a pool waiting for a connection that cannot be made): `body` runs in a task of
/// its own, cancelled when the limit passes, and the first of the two outcomes wins.
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = OutcomeBox<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work = Task {
                do {
                    outcome.resolve(continuation, with: .success(try await body()))
                } catch {
                    outcome.resolve(continuation, with: .failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(for: limit)
                outcome.resolve(continuation, with: .failure(FleetDatabaseTimeout(limit: limit)))
                work.cancel()
            }
            outcome.onCancel {
                work.cancel()
                timer.cancel()
            }
        }
    } onCancel: {
        outcome.cancel()
    }
}

/// The first outcome of a race resumes the continuation; later ones are dropped.
private final class OutcomeBox<T: Sendable>: Sendable {
    private struct State {
        var resolved = false
        var cancelled = false
        var onCancel: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func resolve(_ continuation: CheckedContinuation<T, any Error>, with result: Result<T, any Error>) {
        let first = state.withLock { state -> Bool in
            defer { state.resolved = true }
            return !state.resolved
        }
        if first { continuation.resume(with: result) }
    }

    func onCancel(_ action: @escaping @Sendable () -> Void) {
        let cancelled = state.withLock { state -> Bool in
            state.onCancel = action
            return state.cancelled
        }
        if cancelled { action() }
    }

    func cancel() {
        let action = state.withLock { state -> (@Sendable () -> Void)? in
            state.cancelled = true
            return state.onCancel
        }
        action?()
    }
}

/// The fleet's database did not answer in time.
public struct FleetDatabaseTimeout: Error, CustomStringConvertible {
    /// The limit that ran out.
    public var limit: Duration
    public var description: String { "the fleet's database did not answer within \(limit)" }
}
