//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The demo's closing figures.
struct DemoSummary: Sendable {
    /// Jobs that ran to the end.
    var jobsDone: Int
    /// Jobs started.
    var jobs: Int
    /// Sessions created through the proxy.
    var sessionsCreated: Int
    /// Creates the platform answered 429 (the daemon's `slotgate_upstream_429_total`, plus any a job saw).
    var refused: Int
    /// Most sessions running at once.
    var peakSessions: Int
    /// Highest `slots.in_use` the daemon reported.
    var peakInUse: Int
    /// The simulated platform's limit.
    var limit: Int
    /// Session time over limit × makespan, 0…1.
    var utilization: Double
    /// From the first request for a slot to the last session's end.
    var makespan: Double
    /// Mean wait for a slot, per priority class, in seconds.
    var meanWait: [(kind: DemoJob.Kind, seconds: Double)]
    /// The whole demo, daemon start and stop included.
    var totalSeconds: Double

    /// Whether the demo proved its point: every job ran, no create refused, never above the limit.
    var succeeded: Bool { jobsDone == jobs && refused == 0 && peakSessions <= limit }

    /// Computes the figures.
    /// - Parameters:
    ///   - records: the jobs' times.
    ///   - peakSessions: most sessions at once.
    ///   - peakInUse: highest `slots.in_use`.
    ///   - refused: 429s seen.
    ///   - limit: the limit.
    ///   - totalSeconds: the demo's duration.
    init(records: [DemoBoard.Record], peakSessions: Int, peakInUse: Int, refused: Int, limit: Int, jobs: Int, totalSeconds: Double) {
        self.jobs = jobs
        jobsDone = records.filter(\.released).count
        sessionsCreated = records.filter { $0.running != nil }.count
        self.refused = refused
        self.peakSessions = peakSessions
        self.peakInUse = peakInUse
        self.limit = limit
        self.totalSeconds = totalSeconds
        let busy = records.reduce(0.0) { sum, record in
            guard let running = record.running, let ended = record.ended else { return sum }
            return sum + DemoBoard.seconds(ended - running)
        }
        let first = records.compactMap(\.asked).min() ?? .zero
        let last = records.compactMap(\.ended).max() ?? .zero
        makespan = DemoBoard.seconds(last - first)
        utilization = makespan > 0 && limit > 0 ? busy / (Double(limit) * makespan) : 0
        meanWait = DemoJob.Kind.allCases.compactMap { kind in
            let waits = records.filter { $0.kind == kind }.compactMap(\.waitedMs)
            guard !waits.isEmpty else { return nil }
            return (kind, Double(waits.reduce(0, +)) / Double(waits.count) / 1000)
        }
    }

    /// The summary as aligned lines.
    /// - Parameter style: colours.
    func render(style: Terminal.Style) -> String {
        let waits = meanWait.map { "\($0.kind.rawValue) \(String(format: "%.1f s", $0.seconds))" }.joined(separator: " · ")
        let rows: [(String, String)] = [
            ("jobs run", "\(jobsDone) of \(jobs)"),
            ("sessions created", "\(sessionsCreated)"),
            ("creates the platform refused", refused == 0 ? style.green("0") : style.red("\(refused)")),
            (
                "peak sessions at once",
                "\(peakSessions) (limit \(limit))" + (peakSessions <= limit ? "" : style.red(" — above the limit"))
            ),
            ("slot utilization", String(format: "%.0f %%", utilization * 100) + style.dim(" (session time ÷ limit × makespan)")),
            ("mean wait for a slot", waits),
            ("makespan", String(format: "%.1f s", makespan)),
            ("total time", String(format: "%.1f s", totalSeconds)),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { "  " + $0.0.padded(to: width) + "  " + $0.1 }.joined(separator: "\n")
    }
}
