//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateClient

/// One simulated agent job of the demo: asks for a slot like a real client, creates its session through the
/// proxy with the lease, works for a while, ends the session and releases the lease.
struct DemoJob: Sendable {
    /// A priority class of the demo.
    enum Kind: String, Sendable, CaseIterable {
        case batch, normal, urgent

        /// The lease priority of the class.
        var priority: Int {
            switch self {
            case .batch: -5
            case .normal: 0
            case .urgent: 5
            }
        }
    }

    /// Why a job failed.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// 1-based job number.
    var number: Int
    /// The priority class.
    var kind: Kind
    /// The lease holder.
    var holder: String
    /// When the job starts, after the demo's start.
    var startAfter: Duration
    /// How long its session works.
    var work: Duration

    /// The demo's twelve jobs: 4 batch (-5), 6 normal (0), 2 urgent (5) that arrive last and jump the queue.
    /// - Parameter seed: seeds the work times (1 to 3 s).
    static func lineup(seed: UInt64) -> [DemoJob] {
        var random = SeededRandom(seed: seed)
        var jobs: [DemoJob] = []
        func add(_ kind: Kind, _ holder: String, at start: Duration) {
            let work = Duration.milliseconds(Int64(1000 + random.next() % 2001))
            jobs.append(DemoJob(number: jobs.count + 1, kind: kind, holder: holder, startAfter: start, work: work))
        }
        for index in 0..<4 { add(.batch, "nightly-batch", at: .milliseconds(Int64(index) * 60)) }
        for index in 0..<6 { add(.normal, index % 2 == 0 ? "ci-agents" : "review-bot", at: .milliseconds(400 + Int64(index) * 120)) }
        for index in 0..<2 { add(.urgent, "on-call", at: .milliseconds(2200 + Int64(index) * 300)) }
        return jobs
    }

    /// Runs the job against the daemon, reporting each step to the board.
    /// - Parameters:
    ///   - client: the client on the daemon's socket.
    ///   - board: where events go.
    func run(client: SlotgateClient, board: DemoBoard) async throws {
        try await Task.sleep(for: startAfter)
        await board.note(self, .asked, status: nil)
        let lease = try await client.acquire(holder: holder, priority: kind.priority, wait: 120, ttl: 30) { position, waiting, _ in
            await board.note(self, .queued(position: position, waiting: waiting), status: try? await client.status())
        }
        await board.note(self, .granted(waitedMs: lease.waitedMs ?? 0), status: try? await client.status())

        let body = Data(#"{"agent":"h/demo-agent","messages":"job \#(number)"}"#.utf8)
        let created = try await client.send(
            method: "POST",
            path: "/api/v2/sessions",
            headers: [("Content-Type", "application/json"), ("Slotgate-Lease", lease.id), ("Idempotency-Key", "demo-\(lease.id)")],
            body: body
        )
        guard created.status == 201, let session = Self.sessionID(created.body) else {
            if created.status == 429 { await board.refused() }
            _ = try? await client.release(lease.id)
            throw Failure(description: "job \(number): the create was answered \(created.status)")
        }
        await board.note(self, .running(session: session), status: try? await client.status())

        try await Task.sleep(for: work)
        // The work is done: end the session on the platform (through the proxy), then give the slot back.
        let ended = try await client.send(method: "DELETE", path: "/api/v2/sessions/\(session)")
        guard (200..<300).contains(ended.status) else {
            _ = try? await client.release(lease.id, cancelSession: true)
            throw Failure(description: "job \(number): ending session \(session) was answered \(ended.status)")
        }
        await board.note(self, .ended(session: session), status: try? await client.status())
        let released = try await client.release(lease.id)
        await board.note(self, .released(state: released.state.rawValue), status: try? await client.status())
    }

    private static func sessionID(_ body: Data) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] else { return nil }
        return object["id"] as? String
    }
}
