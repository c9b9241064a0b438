//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateCore
import Testing

/// Random sequences against ``HostileRun``'s platform, checking after every step that no create meets the limit in
/// a closed world and that the count never falls below what the platform holds, and at the end that every slot comes
/// back. A failure prints its seed; `SLOTGATE_SEED=<seed> swift test --filter HostilePlatformTests` replays it (with
/// `SLOTGATE_STEPS=200` for a seed the soak found).
/// `make soak` runs it for an hour (`SLOTGATE_SOAK_SECONDS`).
@Suite struct HostilePlatformTests {
    /// Runs `count` sequences from `base` on every core; returns the first failures.
    ///
    /// Each worker is a thread of its own at a lower priority (nice 10), not a task: a task would hold one of the
    /// cooperative pool's threads (one per core) for the whole run and stall every other test of the process, and the
    /// end-to-end tests' daemons and simulators, which start with deadlines, come first on a busy machine. The model
    /// takes the cores they leave idle.
    static func runMany(base: UInt64, count: Int, steps: Int) async -> [String] {
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        return await withTaskGroup(of: [String].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<[String], Never>) in
                        let thread = Thread {
                            // Linux: the nice value is per thread, and `who` 0 is the calling thread.
                            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
                            var failures: [String] = []
                            var offset = worker
                            while offset < count, failures.count < 2 {
                                if let failure = HostileRun.run(seed: base &+ UInt64(offset), steps: steps) { failures.append(failure) }
                                offset += workers
                            }
                            done.resume(returning: failures)
                        }
                        thread.stackSize = 8 << 20
                        thread.start()
                    }
                }
            }
            var all: [String] = []
            for await failures in group { all += failures }
            return all
        }
    }

    @Test func invariantsHoldAgainstAHostilePlatform() async {
        let environment = ProcessInfo.processInfo.environment
        if let text = environment["SLOTGATE_SEED"], let seed = UInt64(text) {
            let failure = HostileRun.run(seed: seed, steps: environment["SLOTGATE_STEPS"].flatMap { Int($0) } ?? 60)
            #expect(failure == nil, "\(failure ?? "")")
            return
        }
        if let text = environment["SLOTGATE_SOAK_SECONDS"], let seconds = Double(text) {
            await Self.soak(seconds: seconds)
            return
        }
        let base = UInt64.random(in: 0..<(1 << 40))
        let started = ContinuousClock.now
        let failures = await Self.runMany(base: base, count: 100_000, steps: 60)
        print("hostile platform model: 100000 sequences of 60 steps from seed \(base) in \(ContinuousClock.now - started)")
        #expect(failures.isEmpty, "replay with SLOTGATE_SEED=<seed>:\n\(failures.prefix(3).joined(separator: "\n"))")
    }

    /// Random seeds until `seconds` pass; prints the figures.
    static func soak(seconds: Double) async {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var sequences = 0
        var failures: [String] = []
        var base = UInt64.random(in: 0..<(1 << 40))
        let firstBase = base
        while ContinuousClock.now < deadline, failures.isEmpty {
            failures += await runMany(base: base, count: 20_000, steps: 200)
            sequences += 20_000
            base &+= 20_000
        }
        print("soak: \(sequences) sequences of 200 steps (\(sequences * 200) steps), seeds \(firstBase)..<\(base), \(failures.count) failures")
        #expect(failures.isEmpty, "replay with SLOTGATE_SEED=<seed>:\n\(failures.prefix(3).joined(separator: "\n"))")
    }
}
