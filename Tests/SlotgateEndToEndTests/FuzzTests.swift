//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// A grammar-based fuzzer (``FuzzGrammar``) against the real daemon: 20,000 requests under a fixed seed, on
    /// several connections at once, one by one, pipelined and half-closed. Every answer must be well-formed HTTP/1.1
    /// with a result or the documented error, or the connection closes after unreadable framing; afterwards the
    /// daemon is up, and every lease the fuzzer took is released or expired with no slot held.
    ///
    /// `SLOTGATE_FUZZ_SEED` and `SLOTGATE_FUZZ_N` change the seed and the count (`make fuzz SEED=… N=…`);
    /// `SLOTGATE_E2E_SEED` is still read as the seed when the first is not set. Each of the four connections at a
    /// time (`SLOTGATE_FUZZ_WORKERS`) draws its requests from its own generator seeded from the seed; which leases
    /// they aim at depends on what the daemon granted, so a replay repeats the requests but not every lease id.
    /// It replaces the two older tests of this suite, whose generators (``MalformedRequests``, ``BrokenFraming``)
    /// are two productions of the grammar.
    @Suite("Malformed requests")
    struct Fuzz {
        static let defaultSeed: UInt64 = 0x5107_6A7E_F022_2026

        static func setting(_ name: String) -> UInt64? {
            ProcessInfo.processInfo.environment[name].flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        }

        static func seed() -> UInt64 {
            setting("SLOTGATE_FUZZ_SEED") ?? setting("SLOTGATE_E2E_SEED") ?? defaultSeed
        }

        @Test("20,000 grammar-generated requests get well-formed answers; the daemon stays up and every lease ends")
        func grammarFuzz() async throws {
            let seed = Self.seed()
            let total = Int(Self.setting("SLOTGATE_FUZZ_N") ?? 20_000)
            let workers = max(1, Int(Self.setting("SLOTGATE_FUZZ_WORKERS") ?? 4))
            // A body without `wait_s` tries once; a slot is held by a lease or a session 200-400 ms long.
            let environment = ["SLOTGATE_QUEUE_DEFAULT_WAIT_S": "0"]
            try await withStack(environment: environment) { _, daemon, _ in
                let started = ContinuousClock.now
                let tally = FuzzTally()
                let runner = FuzzRunner(path: daemon.socketPath, tally: tally, record: { daemon.recordForKeyCheck($0) })
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<workers {
                        let share = total / workers + (worker < total % workers ? 1 : 0)
                        group.addTask { try await RawSocket.onThread { runner.run(worker: worker, seed: seed, requests: share) } }
                    }
                    try await group.waitForAll()
                }
                let elapsed = ContinuousClock.now - started
                let answers = tally.answers.sorted { $0.value > $1.value }.map { "  \($0.value)\t\($0.key)" }.joined(separator: "\n")
                let errors = Set(tally.answers.keys.filter { E2E.documentedErrors.contains($0) })
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                print(
                    """
                    fuzz: seed \(seed), \(tally.sent) requests on \(workers) connections at a time in \(String(format: "%.1f", seconds)) s, \
                    \(tally.answers.count) distinct answers (\(errors.count) rows of the error table), \(tally.leases.count) leases granted, \
                    \(tally.failureCount) failures
                    \(answers)
                    """
                )
                #expect(
                    tally.failureCount == 0,
                    "seed \(seed): \(tally.failureCount) wrong answers, first ones:\n\(tally.failures.prefix(20).joined(separator: "\n"))"
                )
                #expect(tally.sent >= total, "seed \(seed): \(tally.sent) of \(total) requests sent")
                #expect(daemon.child.isRunning, "seed \(seed): slotgated is still running")
                #expect(try await daemon.get("/v1/status").status == 200, "seed \(seed): /v1/status after the fuzzing")
                try await Self.expectLeasesEnded(tally.leases, daemon: daemon, seed: seed)
            }
        }

        /// Releases what the fuzzer still holds, then waits until every one of its leases is released or expired
        /// and no slot is held.
        static func expectLeasesEnded(_ leases: Set<String>, daemon: DaemonProcess, seed: UInt64) async throws {
            var states: [String: String] = [:]
            func readStates() async throws {
                let reply = try await daemon.get("/v1/leases?all=1", timeout: .seconds(30))
                let listed = reply.json?["leases"] as? [[String: Any]] ?? []
                states = [:]
                for lease in listed {
                    if let id = lease["id"] as? String, let state = lease["state"] as? String { states[id] = state }
                }
            }
            try await readStates()
            for id in leases where states[id] == "granted" {
                let state = try await daemon.release(id).json?["state"] as? String
                #expect(state == "released" || state == "expired" || state == nil, "seed \(seed): releasing \(id) left it \(state ?? "?")")
            }
            let ended: Set<String> = ["released", "expired"]
            do {
                try await eventually("every lease of the fuzzer ended and no slot held", timeout: .seconds(60), interval: .milliseconds(200)) {
                    try await readStates()
                    let status = try await daemon.status()
                    let held = DaemonProcess.slots(status, "held_by_leases")
                    let inUse = DaemonProcess.slots(status, "in_use")
                    return leases.allSatisfy { states[$0].map(ended.contains) == true } && held == 0 && inUse == 0
                }
            } catch {
                let open = leases.filter { states[$0].map(ended.contains) != true }.sorted().prefix(10).map { "\($0): \(states[$0] ?? "not listed")" }
                let status = try? await daemon.status()
                Issue.record("seed \(seed): \(error); leases not ended: \(open); slots: \(status?["slots"] ?? "?")")
            }
        }
    }
}

/// A small seeded generator, so that a failure can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
