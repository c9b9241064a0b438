//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateCore
import SlotgateStore

/// `slotgate-bench ledger`: what the durable ledger costs (issue 5). Grant latency with and without the
/// `synchronous=FULL` write in the same run, the ledger's size after 1,000,000 grants with pruning, and the time
/// to start (open, prune, load, restore) with 10,000 leases in the ledger. Files go under `$TMPDIR` (default /tmp),
/// so the figures are that file system's.
func runLedgerBenchmarks() async throws {
    let base = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/slotgate-bench-ledger-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: base) }
    let logger = Logger(label: "bench")
    try await grantLatency(base + "/latency", logger: logger)
    try await ledgerSize(base + "/size", logger: logger)
    try await startTime(base + "/start", logger: logger)
}

/// Grants through the gatekeeper, alternating batches between one with the ledger and one without.
private func grantLatency(_ directory: String, logger: Logger) async throws {
    let store = try SQLiteLeaseStore(directory: directory, logger: logger)
    let durable = Gatekeeper(settings: GatekeeperSettings(), host: "bench", persistence: store, logger: logger, seed: 1)
    let memory = Gatekeeper(settings: GatekeeperSettings(), host: "bench", logger: logger, seed: 2)
    let reading = PlatformSnapshot(sentAt: WallClock().now, quota: QuotaReading(scope: .org, limit: 1_000_000, active: 0), sessions: [])
    await durable.observe(reading)
    await memory.observe(reading)
    var withWrite: [Duration] = []
    var withoutWrite: [Duration] = []
    for _ in 0..<20 {
        for (gatekeeper, isDurable) in [(durable, true), (memory, false)] {
            for _ in 0..<100 {
                let began = ContinuousClock.now
                guard case .success(let lease) = await gatekeeper.acquire(AcquireRequest(wait: .zero)) else { continue }
                let took = began.duration(to: .now)
                if isDurable { withWrite.append(took) } else { withoutWrite.append(took) }
                _ = try? await gatekeeper.release(lease.id)
            }
        }
    }
    report("grant with the durable ledger write (WAL, synchronous=FULL)", withWrite)
    report("grant without a store (in memory only)", withoutWrite)
}

/// 1,000,000 grants over 7 simulated days (each granted, then released), pruned every simulated hour with the
/// default 24 h retention, written in batches of 1,000 grants per transaction.
private func ledgerSize(_ directory: String, logger: Logger) async throws {
    let store = try SQLiteLeaseStore(directory: directory, logger: logger)
    let total = 1_000_000
    let batch = 1_000
    let span = Duration.seconds(7 * 24 * 3600)
    let start = WallClock().now.advanced(by: .zero - span)
    let step = span / total
    var random = SplitMix64(seed: 42)
    var lastPrune = start
    let began = ContinuousClock.now
    var peak: UInt64 = 0
    for first in stride(from: 0, to: total, by: batch) {
        var leases: [Lease] = []
        leases.reserveCapacity(batch * 2)
        for index in first..<(first + batch) {
            let at = start.advanced(by: step * index)
            var lease = Lease(
                id: LeaseID(time: at, random: &random),
                holder: "agent-\(index % 50)",
                uid: 1000,
                gid: 1000,
                pid: Int32(10_000 + index % 5000),
                priority: 0,
                claimTTL: .seconds(60),
                requestedAt: at,
                host: "bench-host"
            )
            lease.state = .granted
            lease.grantedAt = at
            lease.expiresAt = at.advanced(by: .seconds(60))
            leases.append(lease)
            lease.state = .released
            lease.sessionID = "ses_\(index)"
            lease.boundAt = at.advanced(by: .seconds(1))
            lease.expiresAt = nil
            lease.releasedAt = at.advanced(by: .seconds(300))
            leases.append(lease)
        }
        try await store.write(leases)
        let now = start.advanced(by: step * (first + batch))
        if lastPrune.duration(to: now) >= .seconds(3600) {
            try await store.prune(endedBefore: now.advanced(by: .seconds(-24 * 3600)))
            lastPrune = now
        }
        if first % 100_000 == 0 { peak = max(peak, fileSize(store.path) + fileSize(store.path + "-wal")) }
    }
    let elapsed = began.duration(to: .now)
    let rows = try await store.load().count
    try await store.checkpoint()
    let size = fileSize(store.path) + fileSize(store.path + "-wal")
    print(
        "ledger after \(total) grants over 7 days, 24 h retention, pruned hourly: \(rows) rows, \(size / 1024) KiB "
            + "(\(size / UInt64(max(rows, 1))) B/row; peak seen \(peak / 1024) KiB; written in \(ms(elapsed)))"
    )
}

/// Fills a ledger with 10,000 leases (1,000 live, 9,000 ended in the last day), then times a start: open
/// (checks, migrations, synchronous=FULL), prune, load, and the gatekeeper restoring them. Median of 5.
private func startTime(_ directory: String, logger: Logger) async throws {
    do {
        let store = try SQLiteLeaseStore(directory: directory, logger: logger)
        var random = SplitMix64(seed: 7)
        let now = WallClock().now
        var leases: [Lease] = []
        for index in 0..<10_000 {
            let at = now.advanced(by: .seconds(-Int64(10_000 - index) * 8))
            var lease = Lease(
                id: LeaseID(time: at, random: &random),
                holder: "agent-\(index % 50)",
                uid: 1000,
                gid: 1000,
                pid: 4242,
                priority: 0,
                claimTTL: .seconds(3600),
                requestedAt: at,
                host: "bench-host"
            )
            lease.grantedAt = at
            if index >= 9_000 {
                lease.state = index % 2 == 0 ? .bound : .granted
                lease.sessionID = index % 2 == 0 ? "ses_\(index)" : nil
                lease.expiresAt = index % 2 == 0 ? nil : now.advanced(by: .seconds(3600))
            } else {
                lease.state = .released
                lease.sessionID = "ses_\(index)"
                lease.releasedAt = at.advanced(by: .seconds(60))
            }
            leases.append(lease)
        }
        try await store.write(leases)
    }
    var samples: [Duration] = []
    for round in 0..<5 {
        let began = ContinuousClock.now
        let store = try SQLiteLeaseStore(directory: directory, retention: .seconds(24 * 3600), logger: logger)
        try await store.prune(endedBefore: WallClock().now.advanced(by: .seconds(-24 * 3600)))
        let leases = try await store.load()
        var settings = GatekeeperSettings()
        settings.endedRetention = .seconds(24 * 3600)
        let gatekeeper = Gatekeeper(settings: settings, host: "bench", persistence: store, restoring: leases, logger: logger, seed: UInt64(round))
        _ = await gatekeeper.status()
        samples.append(began.duration(to: .now))
        precondition(leases.count == 10_000, "the ledger should hold 10,000 leases, not \(leases.count)")
    }
    report("start with 10,000 leases in the ledger (open + prune + load + restore)", samples)
}

private func fileSize(_ path: String) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.uint64Value ?? 0
}
