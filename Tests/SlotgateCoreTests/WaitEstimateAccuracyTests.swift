//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

/// How good the first estimate a waiter gets is, on a steady workload played on the state machine with a simulated
/// clock (deterministic: no wall clock, no sleeps).
///
/// The platform allows 3 sessions. Nine clients loop: each asks for a slot, creates its session 50 ms after the
/// grant, the session runs 800–1200 ms (uniform), and the client thinks 0–300 ms before asking again. The poller
/// reads the platform every 200 ms: sessions that ended since the last poll are reported terminal (which frees their
/// slots) and the list shows the running ones. Each waiter records the estimate it got on arrival (what its first
/// `queued` event shows) and its actual wait.
@Suite struct WaitEstimateAccuracyTests {
    struct Outcome {
        /// |first estimate − actual wait| / median actual wait, over the waiters that had an estimate.
        var medianErrorShare: Double
        /// The median of each waiter's |first estimate − actual wait| / its actual wait.
        var medianRelativeError: Double
        var medianWait: Double
        var medianError: Double
        var estimated: Int
        var withoutEstimate: Int
    }

    private enum Phase {
        case thinking(until: Timestamp)
        case waiting(LeaseID, since: Timestamp, eta: Duration?)
        case holding(LeaseID, bindAt: Timestamp, endAt: Timestamp)
        case ended(LeaseID, session: String)
    }

    static func simulate(seed: UInt64, clients: Int = 9, seconds: Int64 = 400) throws -> Outcome {
        var random = SplitMix64(seed: seed)
        func uniform(_ low: Int64, _ high: Int64) -> Duration { .milliseconds(Int64.random(in: low...high, using: &random)) }
        var machine = Fixture.machine(limit: 3) { $0.maxStaleness = .seconds(3600) }
        var now = Fixture.start
        var phases: [Phase] = (0..<clients).map { _ in .thinking(until: Fixture.start + uniform(0, 1000)) }
        var byLease: [LeaseID: Int] = [:]
        var samples: [(eta: Double, actual: Double)] = []
        var withoutEstimate = 0
        let end = Fixture.start + .seconds(seconds)
        let step = Duration.milliseconds(10)
        let pollEvery = 20  // steps: 200 ms
        var stepIndex = 0

        func handle(_ actions: [GatekeeperAction]) {
            for lease in actions.granted {
                guard let client = byLease[lease.id], case .waiting(_, let since, let eta) = phases[client] else { continue }
                let actual = since.duration(to: now).seconds
                if let eta { samples.append((eta.seconds, actual)) } else { withoutEstimate += 1 }
                let bindAt = now + .milliseconds(50)
                phases[client] = .holding(lease.id, bindAt: bindAt, endAt: bindAt + uniform(800, 1200))
            }
        }

        while now < end {
            for client in phases.indices {
                switch phases[client] {
                case .thinking(let until) where until <= now:
                    let (id, actions) = machine.take(holder: "client-\(client % 3)", uid: 1000, wait: .seconds(3600), now: now)
                    byLease[id] = client
                    let eta = machine.forecast(now: now).first { $0.waiter.lease.id == id }?.grantAt.map { now.duration(to: $0) }
                    phases[client] = .waiting(id, since: now, eta: eta)
                    handle(actions)
                case .holding(let id, let bindAt, let endAt):
                    if bindAt <= now, machine.lease(id)?.state == .granted {
                        handle(try machine.bind(id, to: "ses-\(id.rawValue)", now: now).1)
                    }
                    if endAt <= now {
                        phases[client] = .ended(id, session: "ses-\(id.rawValue)")
                    }
                default:
                    continue
                }
            }
            if stepIndex % pollEvery == 0 {
                var running: [ListedSession] = []
                for client in phases.indices {
                    switch phases[client] {
                    case .holding(let id, let bindAt, _) where bindAt <= now:
                        running.append(ListedSession(id: "ses-\(id.rawValue)", status: .running))
                    case .ended(_, let session):
                        handle(machine.observeSession(session, status: .completed, at: now, now: now))
                        phases[client] = .thinking(until: now + uniform(0, 300))
                    default:
                        continue
                    }
                }
                handle(machine.observe(Fixture.snapshot(at: now, limit: 3, active: running.count, sessions: running), now: now))
                handle(machine.tick(now: now))
            }
            now = now + step
            stepIndex += 1
        }
        let errors = samples.map { abs($0.eta - $0.actual) }.sorted()
        let waits = samples.map(\.actual).sorted()
        let relative = samples.filter { $0.actual > 0 }.map { abs($0.eta - $0.actual) / $0.actual }.sorted()
        guard !errors.isEmpty else { throw NotGranted() }
        func median(_ values: [Double]) -> Double { values.isEmpty ? .nan : values[values.count / 2] }
        return Outcome(
            medianErrorShare: median(errors) / median(waits),
            medianRelativeError: median(relative),
            medianWait: median(waits),
            medianError: median(errors),
            estimated: samples.count,
            withoutEstimate: withoutEstimate
        )
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func firstEstimateIsWithinAQuarterOfTheActualWait(seed: UInt64) throws {
        let outcome = try Self.simulate(seed: seed)
        print(
            "ETA accuracy, seed \(seed): \(outcome.estimated) waiters with an estimate (\(outcome.withoutEstimate) without),"
                + " median wait \(Int(outcome.medianWait * 1000)) ms, median |error| \(Int(outcome.medianError * 1000)) ms"
                + " = \(rounded(100 * outcome.medianErrorShare)) % of the median wait;"
                + " median per-waiter relative error \(rounded(100 * outcome.medianRelativeError)) %"
        )
        #expect(outcome.estimated > 700)
        #expect(outcome.withoutEstimate < 20, "only the first waiters, before any session ended, go without")
        #expect(outcome.medianErrorShare <= 0.25)
        #expect(outcome.medianRelativeError <= 0.25)
    }

    private func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
}
