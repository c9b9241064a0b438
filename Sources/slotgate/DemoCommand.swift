//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import SlotgateClient

/// `slotgate demo`: slotgated on its built-in platform simulator, a dozen agent jobs through it, and the figures.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run slotgated on its built-in platform simulator and push a dozen agent jobs through it.",
        discussion: """
            Needs no API key and no network: the daemon runs in this process on a temporary socket, in front of \
            a simulated platform that refuses creates above its limit. Twelve jobs of mixed priority take slots, \
            create their sessions through the proxy, work for 1 to 3 s and end them. The summary counts the \
            creates the platform refused (0) and the slot utilization. Exits 0 when every job ran, none was \
            refused and the limit was never passed.

            Examples:
              slotgate demo
              slotgate demo --limit 5 --seed 42
            """
    )

    @Option(name: .long, help: "The simulated platform's concurrent-session limit.")
    var limit = 3

    @Option(name: .long, help: "Seed of the jobs' work times.")
    var seed: UInt64 = 7

    func validate() throws {
        guard (1...20).contains(limit) else { throw ValidationError("--limit must be from 1 to 20.") }
    }

    func run() async throws {
        let started = ContinuousClock.now
        let style = Terminal.Style(enabled: Terminal.colorsStdout)
        let jobs = DemoJob.lineup(seed: seed)
        let counts = DemoJob.Kind.allCases.map { kind in
            "\(jobs.filter { $0.kind == kind }.count) \(kind.rawValue) (priority \(kind.priority))"
        }
        Terminal.write(
            """
            \(style.bold("slotgate demo")): slotgated in front of its built-in platform simulator (limit \(limit) \
            sessions), no API key, no network.
            \(jobs.count) agent jobs: \(counts.joined(separator: ", ")). Each takes a slot over
            the socket, creates its session through the proxy, works 1–3 s, then ends it.

            """
        )
        let daemon: DemoDaemon
        do {
            daemon = try await DemoDaemon.start(limit: limit)
        } catch {
            Terminal.printError("slotgate demo: \(error)")
            throw ExitCode.failure
        }
        Terminal.write(style.dim("slotgated listening on \(daemon.socketPath)") + "\n\n")

        let client = SlotgateClient(socketPath: daemon.socketPath)
        let board = DemoBoard(total: jobs.count, style: style, live: Terminal.stdoutIsTTY)
        let outcome: Result<Void, any Error>
        do {
            try await perform(jobs, client: client, board: board)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        await board.finish()
        let refused = await Self.refusedCreates(client) + (await board.refusedSeen)
        try? await client.shutdown()
        await daemon.stop()

        if case .failure(let error) = outcome {
            Terminal.printError("slotgate demo: \(Self.describe(error))")
            throw ExitCode.failure
        }
        let summary = DemoSummary(
            records: Array(await board.records.values),
            peakSessions: await board.peakRunning,
            peakInUse: await board.peakInUse,
            refused: refused,
            limit: limit,
            jobs: jobs.count,
            totalSeconds: DemoBoard.seconds(ContinuousClock.now - started)
        )
        Terminal.write("\n" + style.bold("summary") + "\n" + summary.render(style: style) + "\n")
        guard summary.succeeded else {
            Terminal.printError("slotgate demo: the run did not go as it should (see the summary).")
            throw ExitCode.failure
        }
    }

    /// Waits for the first platform reading, then runs every job at once and keeps the status bar fresh.
    private func perform(_ jobs: [DemoJob], client: SlotgateClient, board: DemoBoard) async throws {
        for _ in 0..<100 {
            if let status = try? await client.status(), (status.slots?.limit ?? 0) > 0, status.pausedBy == nil {
                await board.absorb(status)
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for job in jobs {
                group.addTask { try await job.run(client: client, board: board) }
            }
            let refresher = Task {
                while !Task.isCancelled {
                    if let status = try? await client.status() { await board.absorb(status) }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            defer { refresher.cancel() }
            try await group.waitForAll()
        }
    }

    /// The creates the platform answered 429, from the daemon's own counter (`slotgate_upstream_429_total`).
    private static func refusedCreates(_ client: SlotgateClient) async -> Int {
        guard let answer = try? await client.send(method: "GET", path: "/metrics"), answer.status == 200 else { return 0 }
        let text = String(decoding: answer.body, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("slotgate_upstream_429_total") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return Int(value) }
        }
        return 0
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? ClientError { return String(Failure.line(for: error).dropFirst("slotgate: ".count)) }
        return String(describing: error)
    }
}
