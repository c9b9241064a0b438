//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import PostgresNIO

/// The fleet's tables, created and migrated by slotgated itself under an advisory lock, so hosts starting
/// together in an empty database are safe. Each step runs once, in order; the version is kept in a table.
public enum FleetSchema {
    /// The steps; step n brings the schema to version n + 1. Append, never edit.
    static let steps: [[PostgresQuery]] = [
        [
            """
            CREATE TABLE slotgate_fleet (name text PRIMARY KEY, version bigint NOT NULL, body text NOT NULL)
            """,
            """
            CREATE TABLE slotgate_leases (
                id text PRIMARY KEY, host text NOT NULL, state text NOT NULL, counting boolean NOT NULL,
                ended_at bigint, body text NOT NULL)
            """,
            """
            CREATE INDEX slotgate_leases_holding ON slotgate_leases (id)
                WHERE state IN ('granted', 'bound', 'draining') OR counting
            """,
            """
            CREATE TABLE slotgate_tickets (id text PRIMARY KEY, host text NOT NULL, sequence bigint NOT NULL, body text NOT NULL)
            """,
            """
            CREATE TABLE slotgate_hosts (host_id text PRIMARY KEY, seen_at timestamptz NOT NULL, fallback_share integer NOT NULL)
            """,
        ]
    ]

    /// The version this build writes.
    public static var currentVersion: Int { steps.count }

    /// Creates or migrates the tables. Safe to run from several hosts at once.
    /// - Parameters:
    ///   - client: the pool.
    ///   - logger: the logger.
    public static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await withTimeout(.seconds(10)) { try await migrateNow(client, logger: logger) }
    }

    private static func migrateNow(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(PostgresSharedStore.LockKey.schema))", logger: logger)
            do {
                try await connection.query("CREATE TABLE IF NOT EXISTS slotgate_schema (version integer NOT NULL)", logger: logger)
                var version = 0
                for try await found in try await connection.query("SELECT version FROM slotgate_schema", logger: logger).decode(Int.self) {
                    version = found
                }
                guard version <= currentVersion else {
                    throw FleetSchemaTooNew(found: version, supported: currentVersion)
                }
                for (index, step) in steps.enumerated() where index >= version {
                    try await connection.withTransaction(logger: logger) { transaction in
                        for statement in step { try await transaction.query(statement, logger: logger) }
                        try await transaction.query("DELETE FROM slotgate_schema", logger: logger)
                        try await transaction.query("INSERT INTO slotgate_schema (version) VALUES (\(index + 1))", logger: logger)
                    }
                    logger.info("fleet schema migrated", metadata: ["version": "\(index + 1)"])
                }
                try await connection.query("SELECT pg_advisory_unlock(\(PostgresSharedStore.LockKey.schema))", logger: logger)
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresSharedStore.LockKey.schema))", logger: logger)
                throw error
            }
        }
    }
}

/// The database was written by a newer slotgated.
public struct FleetSchemaTooNew: Error, CustomStringConvertible {
    /// The version found.
    public var found: Int
    /// The newest version this build knows.
    public var supported: Int
    public var description: String {
        "the fleet's database has schema version \(found); this slotgated knows up to \(supported): upgrade it"
    }
}
