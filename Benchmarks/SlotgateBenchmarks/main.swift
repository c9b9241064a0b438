//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// `slotgate-bench [core|ledger|fleet|daemon|all]`, run by `make bench` on a release build. Figures are printed,
// never asserted: the machine's noise is part of the reading. `daemon-rtt`, `daemon-memory` and
// `daemon-utilization` run one of the daemon's benchmarks alone (the round trips; the 10,000 parked waiters; the
// makespans of lease-mode and proxy-mode clients), for quick before/after readings (`make bench BENCH=…`).

import Foundation
import Logging
import SlotgateCore

// A daemon that closes a connection must not kill the runner: writes then fail with EPIPE instead.
signal(SIGPIPE, SIG_IGN)

let mode = CommandLine.arguments.dropFirst().first ?? "all"
print("slotgate benchmarks (\(ProcessInfo.processInfo.activeProcessorCount) cores)")
if mode == "core" || mode == "all" {
    runCoreBenchmarks()
    await runPollHandOffBenchmark()
}
if mode == "ledger" || mode == "all" {
    do { try await runLedgerBenchmarks() } catch { print("ledger benchmarks failed: \(error)") }
}
if mode == "fleet" || mode == "all" {
    do { try await runFleetBenchmarks() } catch { print("fleet benchmarks failed: \(error)") }
}
if mode == "daemon-rtt" || mode == "daemon-memory" || mode == "daemon-utilization" {
    raiseFileLimit()
    do {
        switch mode {
        case "daemon-rtt": try roundTrips()
        case "daemon-memory": try memoryAndBusyCalls()
        default:
            try utilization()
            try proxyUtilization()
        }
    } catch {
        print("daemon benchmark failed: \(error)")
        exit(1)
    }
}
if mode == "daemon" || mode == "all" {
    do {
        try runDaemonBenchmarks()
    } catch {
        print("daemon benchmarks failed: \(error)")
        exit(1)
    }
}

/// In process: a waiter is parked on the gatekeeper; a poll's reading no longer lists the bound session, the
/// gatekeeper asks for its status, the status says it ended, and the waiter is granted. Measured from the reading
/// handed to the gatekeeper to the waiter's grant (the platform's status answer taken as instant).
func runPollHandOffBenchmark() async {
    var samples: [Duration] = []
    for round in 0..<2000 {
        let gatekeeper = Gatekeeper(settings: GatekeeperSettings(), host: "bench", logger: Logger(label: "bench"), seed: UInt64(round))
        let now = WallClock().now
        await gatekeeper.observe(PlatformSnapshot(sentAt: now, quota: QuotaReading(scope: .org, limit: 1, active: 0), sessions: []))
        guard case .success(let lease) = await gatekeeper.acquire(AcquireRequest(wait: .zero)) else { continue }
        _ = try? await gatekeeper.bind(lease.id, to: "s1")
        await gatekeeper.observe(
            PlatformSnapshot(
                sentAt: WallClock().now,
                quota: QuotaReading(scope: .org, limit: 1, active: 1),
                sessions: [ListedSession(id: "s1", status: .running)]
            )
        )
        let waiter = Task { await gatekeeper.acquire(AcquireRequest(holder: "next", wait: .seconds(60))) }
        while await gatekeeper.status().waiting == 0 { await Task.yield() }
        var work = gatekeeper.upstreamWork.makeAsyncIterator()
        let began = ContinuousClock.now
        await gatekeeper.observe(PlatformSnapshot(sentAt: WallClock().now, quota: QuotaReading(scope: .org, limit: 1, active: 0), sessions: []))
        while let item = await work.next() {
            if case .confirmSession(let session) = item {
                await gatekeeper.observeSession(session, status: .completed, at: WallClock().now)
                break
            }
        }
        _ = await waiter.value
        samples.append(began.duration(to: .now))
    }
    report("poll sees a session end → next waiter granted (in process, status read instant)", samples)
}
