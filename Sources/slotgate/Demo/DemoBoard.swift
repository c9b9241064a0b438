//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateClient

/// The demo's live output and its tally: one line per event, each with the slot gauge read from `/v1/status`
/// just after it, and on a terminal a status bar under the lines, refreshed continuously.
actor DemoBoard {
    /// What happened to a job.
    enum Event: Sendable {
        /// The job asked for a slot.
        case asked
        /// The job waits in the queue.
        case queued(position: Int, waiting: Int)
        /// The job got its lease.
        case granted(waitedMs: Int64)
        /// The job's session was created through the proxy and runs.
        case running(session: String)
        /// The job's session ended.
        case ended(session: String)
        /// The job released its lease.
        case released(state: String)
    }

    /// The times of one job, from the board's start.
    struct Record: Sendable {
        var kind: DemoJob.Kind
        var asked: Duration?
        var waitedMs: Int64?
        var running: Duration?
        var ended: Duration?
        var released = false
    }

    /// The board's gauge of the daemon: slots in use, the limit, waiters.
    struct Gauge: Sendable, Equatable {
        var inUse: Int
        var limit: Int
        var waiting: Int
    }

    private let style: Terminal.Style
    private let live: Bool
    private let start = ContinuousClock.now
    private let total: Int
    private var gauge: Gauge?
    private var barShown = false
    private(set) var records: [Int: Record] = [:]
    private(set) var peakRunning = 0
    private(set) var peakInUse = 0
    private(set) var refusedSeen = 0
    private var running = 0
    private var queuedShown: Set<Int> = []

    /// Creates the board.
    /// - Parameters:
    ///   - total: the number of jobs.
    ///   - style: colours, on when stdout is a terminal.
    ///   - live: draw the status bar (stdout is a terminal).
    init(total: Int, style: Terminal.Style, live: Bool) {
        self.total = total
        self.style = style
        self.live = live
    }

    /// Time since the board was made.
    var elapsed: Duration { ContinuousClock.now - start }

    /// Records an event and prints its line.
    /// - Parameters:
    ///   - job: the job.
    ///   - event: what happened.
    ///   - status: the daemon's status read just after it, for the gauge.
    func note(_ job: DemoJob, _ event: Event, status: SlotgateClient.Status?) {
        let now = elapsed
        if let status { absorb(status) }
        var record = records[job.number] ?? Record(kind: job.kind)
        var text: String?
        switch event {
        case .asked:
            record.asked = now
        case .queued(let position, let waiting):
            // Only the first place is a line; later moves show in the gauge.
            if record.waitedMs == nil && !queuedShown.contains(job.number) {
                queuedShown.insert(job.number)
                text = style.yellow("queued") + " at position \(position) of \(waiting)"
            }
        case .granted(let waitedMs):
            record.waitedMs = waitedMs
            text = style.green("granted") + (waitedMs > 0 ? " a slot after waiting \(Format.milliseconds(waitedMs))" : " a slot at once")
        case .running(let session):
            record.running = now
            running += 1
            peakRunning = max(peakRunning, running)
            text = style.cyan("session running") + " \(style.dim(Self.short(session))) · works \(Format.seconds(Self.seconds(job.work)))"
        case .ended:
            record.ended = now
            running -= 1
            var ran = "?"
            if let started = record.running { ran = Format.seconds(Self.seconds(now - started)) }
            text = "finished after \(ran) of work · releasing its slot"
        case .released:
            // The next grant follows at once; its own line shows the slot changing hands.
            record.released = true
        }
        records[job.number] = record
        if let text { printLine(job, text) }
    }

    /// Counts a create the platform refused with 429 that reached a job (the proxy should absorb them all).
    func refused() {
        refusedSeen += 1
    }

    /// Takes a fresh status for the gauge and the bar.
    /// - Parameter status: the daemon's status.
    func absorb(_ status: SlotgateClient.Status) {
        guard let slots = status.slots else { return }
        gauge = Gauge(inUse: slots.inUse, limit: slots.limit, waiting: status.queue?.waiting ?? 0)
        peakInUse = max(peakInUse, slots.inUse)
        if live { drawBar() }
    }

    /// Prints a line of its own (headings, the summary) below the events.
    /// - Parameter text: the line.
    func say(_ text: String) {
        clearBar()
        Terminal.write(text + "\n")
        if live { drawBar() }
    }

    /// Removes the bar for good.
    func finish() {
        clearBar()
    }

    // MARK: Drawing

    private func printLine(_ job: DemoJob, _ text: String) {
        clearBar()
        let time = String(format: "%6.2fs", Self.seconds(elapsed))
        let number = String(job.number).leftPadded(to: 2)
        let kind = kindLabel(job.kind)
        let holder = job.holder.padded(to: 14)
        Terminal.write("\(style.dim(time))  \(gaugeText())  job \(number) \(kind) \(style.dim(holder)) \(text)\n")
        if live { drawBar() }
    }

    private func kindLabel(_ kind: DemoJob.Kind) -> String {
        let label = kind.rawValue.padded(to: 6)
        switch kind {
        case .batch: return style.blue(label)
        case .normal: return label
        case .urgent: return style.bold(style.magenta(label))
        }
    }

    /// `■■□ 2/3 ·  5 waiting`.
    private func gaugeText() -> String {
        guard let gauge else { return "".padded(to: 20) }
        let filled = min(gauge.inUse, gauge.limit)
        let boxes = String(repeating: "■", count: filled) + String(repeating: "□", count: max(0, gauge.limit - filled))
        let counts = "\(gauge.inUse)/\(gauge.limit) · \(String(gauge.waiting).leftPadded(to: 2)) waiting"
        return style.bold(boxes) + " " + counts
    }

    private func drawBar() {
        guard gauge != nil else { return }
        let done = records.values.filter(\.released).count
        let text =
            "slots \(gaugeText()) · \(done) of \(total) jobs done · "
            + String(format: "%.1f s", Self.seconds(elapsed))
        Terminal.write(Terminal.clearLine + style.dim("── ") + text)
        barShown = true
    }

    private func clearBar() {
        if barShown { Terminal.write(Terminal.clearLine) }
        barShown = false
    }

    /// A session id cut to its first 8 characters, as `git` shortens hashes.
    static func short(_ id: String) -> String {
        id.count > 12 ? String(id.prefix(8)) + "…" : id
    }

    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
