//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import PostgresNIO
import ServiceLifecycle
import SlotgateCore
import SlotgateUpstream

/// This host's part in the fleet, besides its decisions: the heartbeat, LISTEN for other hosts' notices, and the
/// poller election. One host at a time holds a session-level advisory lock on a connection of its own and polls
/// the platform for the fleet; when that connection drops (the host died, or lost the database) the lock goes
/// with it and another host takes it within a couple of seconds. A host that does not hold it never polls.
public struct FleetMember: Service {
    let gatekeeper: Gatekeeper
    let store: PostgresSharedStore
    let url: FleetDatabaseURL
    let host: String
    let fallbackShare: Int
    let retention: Duration
    let makePoller: @Sendable (AsyncStream<UpstreamWork>, _ hosts: Int) -> UpstreamPoller
    let logger: Logger

    /// How often the heartbeat is written and the claim is tried.
    static let beat = Duration.seconds(1)

    /// Creates the member.
    /// - Parameters:
    ///   - gatekeeper: this host's gatekeeper (in shared mode).
    ///   - store: the fleet's store.
    ///   - url: the database.
    ///   - host: this host's id.
    ///   - fallbackShare: `shared.fallback_share`.
    ///   - retention: how long ended leases stay in the tables.
    ///   - makePoller: makes the platform poller for a term as the fleet's poller (`hosts` 1), or for this host
    ///     alone during a database outage, at `hosts` times the intervals (its share of the call budget).
    ///   - logger: the logger.
    public init(
        gatekeeper: Gatekeeper,
        store: PostgresSharedStore,
        url: FleetDatabaseURL,
        host: String,
        fallbackShare: Int,
        retention: Duration,
        makePoller: @escaping @Sendable (AsyncStream<UpstreamWork>, _ hosts: Int) -> UpstreamPoller,
        logger: Logger
    ) {
        self.gatekeeper = gatekeeper
        self.store = store
        self.url = url
        self.host = host
        self.fallbackShare = fallbackShare
        self.retention = retention
        self.makePoller = makePoller
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.heartbeatLoop() }
                group.addTask { await FleetListener(gatekeeper: gatekeeper, url: url, host: host, logger: logger).run() }
                group.addTask { await self.electionLoop() }
                group.addTask { await self.fallbackPollingLoop() }
            }
        }
        await gatekeeper.endPolling()
    }

    // MARK: Heartbeat

    private func heartbeatLoop() async {
        var beats = 0
        while !Task.isCancelled {
            do {
                try await store.heartbeat(fallbackShare: fallbackShare)
                if beats % 60 == 0 { try await store.prune(retention: retention) }
                await gatekeeper.databaseAnswered(try await store.members())
            } catch {
                if !Task.isCancelled { await gatekeeper.databaseAnswered(nil) }
            }
            beats += 1
            try? await Task.sleep(for: Self.beat)
        }
    }

    // MARK: Polling during an outage

    /// While the database is away nobody polls for the fleet, so each host in fallback reads the platform itself,
    /// at its share of the call budget (the intervals times the number of hosts): its grants need a fresh reading
    /// that leaves room, and a stale one pauses them (design.md "Shared mode").
    private func fallbackPollingLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.beat)
            guard let hosts = await gatekeeper.fallbackHosts() else { continue }
            logger.notice("the fleet's database is unreachable: this host reads the platform itself", metadata: ["hosts": "\(hosts)"])
            let poller = makePoller(await gatekeeper.beginFallbackPolling(), hosts)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await poller.run() }
                group.addTask {
                    while !Task.isCancelled, await gatekeeper.fallbackHosts() != nil {
                        try? await Task.sleep(for: Self.beat)
                    }
                }
                _ = await group.next()
                group.cancelAll()
            }
            await gatekeeper.endFallbackPolling()
        }
    }

    // MARK: Poller election

    private func electionLoop() async {
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: url.connectionConfiguration(applicationName: PostgresSharedStore.pollerApplicationName(host: host)),
                    id: 2,
                    logger: logger
                )
                defer { Task { try? await connection.close() } }
                while !Task.isCancelled {
                    if try await tryClaim(connection) {
                        try await poll(holding: connection)
                        return
                    }
                    try await Task.sleep(for: Self.beat)
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("poller claim connection ended", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: Self.beat)
        }
    }

    private func tryClaim(_ connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_try_advisory_lock(\(PostgresSharedStore.LockKey.poller))", logger: logger)
        for try await claimed in rows.decode(Bool.self) { return claimed }
        return false
    }

    /// Polls the platform for the fleet while the claim's connection lives.
    private func poll(holding connection: PostgresConnection) async throws {
        logger.info("this host now polls the platform for the fleet", metadata: ["host": "\(host)"])
        let work = await gatekeeper.beginPolling()
        let poller = makePoller(work, 1)
        defer { logger.info("this host stopped polling for the fleet", metadata: ["host": "\(host)"]) }
        do {
            try await keepPolling(poller, holding: connection)
        } catch {
            await gatekeeper.endPolling()
            throw error
        }
        await gatekeeper.endPolling()
    }

    private func keepPolling(_ poller: UpstreamPoller, holding connection: PostgresConnection) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await poller.run() }
            group.addTask {
                // The claim lives as long as its connection: check it, and stop polling the moment it is gone.
                while !Task.isCancelled {
                    try await withTimeout(PostgresSharedStore.callTimeout) {
                        try await connection.query("SELECT 1", logger: logger)
                    }
                    try await Task.sleep(for: Self.beat)
                }
            }
            defer { group.cancelAll() }
            _ = try await group.next()
        }
    }
}

/// LISTEN for the other hosts' notices on a connection of its own: grants and failures for this host's waiters,
/// work for the poller, and "the state changed".
struct FleetListener {
    let gatekeeper: Gatekeeper
    let url: FleetDatabaseURL
    let host: String
    let logger: Logger

    /// Listens until cancelled, reconnecting with backoff; after each (re)connect it re-reads the state.
    func run() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: url.connectionConfiguration(applicationName: "slotgate-listen:\(host)"),
                    id: 1,
                    logger: logger
                )
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: PostgresSharedStore.channel) { notifications in
                    // Anything missed while not listening: look again now.
                    await gatekeeper.fleetChanged()
                    failures = 0
                    for try await notification in notifications {
                        await dispatch(notification.payload)
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 { logger.warning("lost the fleet's notices; retrying", metadata: ["error": "\(error)"]) }
            }
            try? await Task.sleep(for: .milliseconds(min(5000, 250 * (1 << min(failures, 5)))))
        }
    }

    func dispatch(_ payload: String) async {
        guard let (sender, notices) = FleetNoticeCoding.decode(payload), sender != host else { return }
        for notice in notices {
            switch notice {
            case .granted(let target, let id) where target == host:
                await gatekeeper.fleetGranted(id)
            case .failed(let target, let id, let error) where target == host:
                await gatekeeper.fleetFailed(id, error)
            case .work(let work):
                await gatekeeper.fleetWork(work)
            case .changed:
                await gatekeeper.fleetChanged()
            case .granted, .failed:
                continue
            }
        }
    }
}
