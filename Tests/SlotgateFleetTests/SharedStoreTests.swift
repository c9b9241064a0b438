//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import PostgresNIO
import SlotgateCore
import SlotgateTesting
import Testing

@testable import SlotgateFleet

/// The store and three real gatekeepers in shared mode on a PostgreSQL cluster of the test's own.
@Suite("Shared store on PostgreSQL", .serialized, .timeLimit(.minutes(2)))
struct SharedStoreTests {
    /// Runs `body` with `hosts` gatekeepers sharing one fresh database (each with its own pool, as separate
    /// daemons would have), after a first reading with the given limit.
    func withFleet(
        hosts: Int,
        limit: Int,
        _ body: @Sendable ([Gatekeeper]) async throws -> Void
    ) async throws {
        let postgres = try await PostgresServer.start()
        defer { postgres.destroy() }
        let url = try FleetDatabaseURL(postgres.url)
        let logger = Logger(label: "fleet-test")
        let clients = (0..<hosts).map { _ in PostgresClient(configuration: url.clientConfiguration(), backgroundLogger: logger) }
        try await withThrowingDiscardingTaskGroup { group in
            for client in clients { group.addTask { await client.run() } }
            try await FleetSchema.migrate(clients[0], logger: logger)
            var settings = GatekeeperSettings()
            settings.maxStaleness = .seconds(600)
            let gatekeepers = clients.enumerated().map { index, client in
                Gatekeeper(
                    settings: settings,
                    host: "host-\(index)",
                    logger: logger,
                    seed: UInt64(index + 1),
                    shared: PostgresSharedStore(client: client, host: "host-\(index)", logger: logger)
                )
            }
            for (index, gatekeeper) in gatekeepers.enumerated() {
                group.addTask { await FleetListener(gatekeeper: gatekeeper, url: url, host: "host-\(index)", logger: logger).run() }
            }
            // Every host listens before the test begins: with no timer running here, grants across hosts travel by
            // NOTIFY alone.
            try await Self.eventually {
                await Self.listeners(clients[0], logger: logger) == hosts
            }
            await gatekeepers[0].observe(
                PlatformSnapshot(sentAt: WallClock().now, quota: QuotaReading(scope: .org, limit: limit, active: 0), sessions: [])
            )
            try await body(gatekeepers)
            group.cancelAll()
        }
    }

    @Test("two hosts never both take the last slot: 60 try-once requests on three hosts at once, limit 3")
    func noOverGrantUnderContention() async throws {
        try await withFleet(hosts: 3, limit: 3) { gatekeepers in
            let granted = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<60 {
                    let gatekeeper = gatekeepers[index % gatekeepers.count]
                    group.addTask {
                        if case .success = await gatekeeper.acquire(AcquireRequest(holder: "h\(index)", wait: .zero)) { return true }
                        return false
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(granted == 3)
            let listing = await gatekeepers[1].listing()
            #expect(listing.leases.filter { $0.state == .granted }.count == 3)
            #expect(Set(listing.leases.map(\.host)).isSubset(of: ["host-0", "host-1", "host-2"]))
        }
    }

    @Test("grant order is fleet-wide: a later, higher-priority request on another host goes first")
    func fleetWideOrder() async throws {
        try await withFleet(hosts: 2, limit: 1) { gatekeepers in
            guard case .success(let held) = await gatekeepers[0].acquire(AcquireRequest(holder: "holder", wait: .zero)) else {
                Issue.record("the first request was not granted")
                return
            }
            let low = Task { await gatekeepers[0].acquire(AcquireRequest(holder: "low", priority: 0, wait: .seconds(30))) }
            try await Self.eventually { await gatekeepers[1].status().waiting == 1 }
            let high = Task { await gatekeepers[1].acquire(AcquireRequest(holder: "high", priority: 5, wait: .seconds(30))) }
            try await Self.eventually { await gatekeepers[0].status().waiting == 2 }
            // An unbound lease's slot frees after a reading sent after its release.
            _ = try await gatekeepers[0].release(held.id)
            await gatekeepers[0].observe(
                PlatformSnapshot(sentAt: WallClock().now, quota: QuotaReading(scope: .org, limit: 1, active: 0), sessions: [])
            )
            let winner = await high.value
            guard case .success(let lease) = winner else {
                Issue.record("the high-priority request on host-1 was not granted: \(winner)")
                low.cancel()
                return
            }
            #expect(lease.host == "host-1" && lease.holder == "high")
            #expect(await gatekeepers[1].status().waiting == 1)
            low.cancel()
            _ = await low.value
        }
    }

    @Test("a waiter on one host is granted by NOTIFY when another host's lease ends")
    func handOffAcrossHosts() async throws {
        try await withFleet(hosts: 2, limit: 1) { gatekeepers in
            guard case .success(let held) = await gatekeepers[0].acquire(AcquireRequest(holder: "a", wait: .zero)) else {
                Issue.record("the first request was not granted")
                return
            }
            _ = try await gatekeepers[0].bind(held.id, to: "ses-1")
            let waiter = Task { await gatekeepers[1].acquire(AcquireRequest(holder: "b", wait: .seconds(30))) }
            try await Self.eventually { await gatekeepers[0].status().waiting == 1 }
            // The platform reports the session ended (host-0 confirmed it): host-1's waiter gets the slot.
            await gatekeepers[0].observeSession("ses-1", status: .completed, at: WallClock().now)
            guard case .success(let lease) = await waiter.value else {
                Issue.record("host-1's waiter was not granted")
                return
            }
            #expect(lease.host == "host-1")
        }
    }

    /// The listener connections the database has.
    static func listeners(_ client: PostgresClient, logger: Logger) async -> Int {
        guard
            let rows = try? await client.query(
                "SELECT count(*)::bigint FROM pg_stat_activity WHERE application_name LIKE 'slotgate-listen:%' AND state = 'idle'",
                logger: logger
            )
        else { return 0 }
        var count = 0
        do {
            for try await value in rows.decode(Int64.self) { count = Int(value) }
        } catch {
            return 0
        }
        return count
    }

    static func eventually(_ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("condition not met within 10 s")
    }
}

@Suite("Fleet wire formats")
struct FleetFormatTests {
    @Test func noticesRoundTrip() throws {
        let id = try #require(LeaseID(rawValue: "lse_01M8MX1HGE3T8SHBNVZBGTYMW9"))
        let notices: [FleetNotice] = [
            .granted(host: "h1", id), .failed(host: "h2", id, .waitTimeout), .work(.pollNow), .work(.confirmSession("s-1")),
            .work(.cancelSession("s-2")), .changed,
        ]
        let payloads = FleetNoticeCoding.payloads(notices, from: "h0")
        #expect(payloads.count == 1)
        let decoded = try #require(FleetNoticeCoding.decode(payloads[0]))
        #expect(decoded.sender == "h0")
        #expect(decoded.notices == notices)
        #expect(FleetNoticeCoding.decode("garbage") == nil)
    }

    @Test func manyNoticesSplitUnderTheLimit() throws {
        let id = try #require(LeaseID(rawValue: "lse_01M8MX1HGE3T8SHBNVZBGTYMW9"))
        let notices = Array(repeating: FleetNotice.granted(host: "some-host-name", id), count: 1000)
        let payloads = FleetNoticeCoding.payloads(notices, from: "h0")
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count < 8000 })
        #expect(payloads.compactMap { FleetNoticeCoding.decode($0)?.notices.count }.reduce(0, +) == 1000)
    }

    @Test func urlsAreReadAndTheirErrorsNameTheKey() throws {
        let url = try FleetDatabaseURL("postgres://slotgate:s3cret@db.example:6543/fleet?sslmode=require")
        #expect(url.host == "db.example" && url.port == 6543 && url.username == "slotgate" && url.database == "fleet")
        #expect(url.password == "s3cret")
        #expect(!url.description.contains("s3cret"))
        #expect(throws: FleetURLError.self) { try FleetDatabaseURL("mysql://x/y") }
        do {
            _ = try FleetDatabaseURL("postgres://h/db?sslmode=sometimes")
            Issue.record("a bad sslmode was accepted")
        } catch {
            #expect(error.description.contains("shared.postgres_url"))
        }
    }
}
