//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// `POST /v1/leases?stream=1` (socket-api.md): `200` at once, NDJSON `queued` events while the request waits,
    /// then one `granted` or `error` event.
    @Suite("Streamed waits")
    struct StreamedWaits {
        /// A `queued` event's figures.
        struct Queued: Equatable, CustomStringConvertible {
            var position: Int
            var waiting: Int

            var description: String { "position \(position) of \(waiting)" }
        }

        /// The next event of `stream` as JSON, recorded for the key check; fails when the body ends first.
        static func nextEvent(_ stream: OpenRequest, _ daemon: DaemonProcess, timeout: Duration = .seconds(10)) async throws -> [String: Any] {
            let line = try await RawSocket.onThread { try stream.nextLine(timeout: timeout) }
            let text = try #require(line, "the stream ended before the next event")
            daemon.recordStreamLine(text)
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            return try #require(object as? [String: Any], "an event that is not a JSON object: \(text)")
        }

        /// The figures of a `queued` event, which must have exactly the documented keys.
        static func queued(_ event: [String: Any]) throws -> Queued {
            #expect(Set(event.keys) == ["event", "id", "position", "waiting", "eta_s"], "a queued event has other keys: \(event)")
            #expect(event["eta_s"] is NSNull || (event["eta_s"] as? Double) != nil, "eta_s is neither null nor a number: \(event)")
            #expect(event["event"] as? String == "queued", "not a queued event: \(event)")
            let position = try #require(event["position"] as? Int, "position is not an integer: \(event)")
            let waiting = try #require(event["waiting"] as? Int, "waiting is not an integer: \(event)")
            return Queued(position: position, waiting: waiting)
        }

        /// Reads `queued` events until one says `expected`; every one read must be at or below the position before
        /// it (positions never rise while nobody new arrives ahead). Returns the positions read.
        static func readUntil(
            _ expected: Queued,
            _ stream: OpenRequest,
            _ daemon: DaemonProcess,
            after previous: Queued
        ) async throws -> [Queued] {
            var seen: [Queued] = []
            var last = previous
            while last != expected {
                let event = try await nextEvent(stream, daemon)
                let next = try queued(event)
                #expect(next.position <= last.position, "the position rose from \(last) to \(next)")
                seen.append(next)
                last = next
            }
            return seen
        }

        @Test("a streamed waiter gets queued events whose position falls as others leave, then its lease")
        func positionsThenGrant() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 2, runMilliseconds: "none")) { _, daemon, _ in
                let path = daemon.socketPath
                var held: [String] = []
                for _ in 0..<2 {
                    held.append(try #require(try await daemon.grantedLease(holder: "filler", claimTTL: 3600)["id"] as? String))
                }
                // Two plain long-polls ahead of the stream: one hangs up, the other is granted.
                let ahead = try OpenRequest.acquire(path: path, body: #"{"holder":"ahead-granted","wait_s":60}"#, streamed: false)
                try await daemon.waitForStatus("the first waiter queued") { DaemonProcess.waiting($0) == 1 }
                let leaving = try OpenRequest.acquire(path: path, body: #"{"holder":"ahead-leaving","wait_s":60}"#, streamed: false)
                try await daemon.waitForStatus("the second waiter queued") { DaemonProcess.waiting($0) == 2 }

                let stream = try OpenRequest.acquire(path: path, body: #"{"holder":"streamed","wait_s":60,"claim_ttl_s":600}"#, streamed: true)
                let head = try await RawSocket.onThread { try stream.head() }
                daemon.record(head, method: "POST", uri: "/v1/leases?stream=1")
                #expect(head.status == 200, "the streamed answer's status: \(head)")
                #expect(head.header("Content-Type") == "application/x-ndjson", "headers: \(head.headers)")
                let first = try Self.queued(try await Self.nextEvent(stream, daemon))
                #expect(first == Queued(position: 3, waiting: 3), "first event: \(first)")

                // A waiter ahead hangs up: one place up, without any grant.
                leaving.close()
                var positions = [first]
                positions += try await Self.readUntil(Queued(position: 2, waiting: 2), stream, daemon, after: first)

                // A slot frees: the first waiter is granted, one more place up.
                #expect(try await daemon.release(held[0]).status == 200)
                let grantedAhead = try await RawSocket.onThread { try ahead.reply() }
                daemon.record(grantedAhead, method: "POST", uri: "/v1/leases")
                #expect(grantedAhead.status == 201 && grantedAhead.string("holder") == "ahead-granted", "\(grantedAhead)")
                positions += try await Self.readUntil(Queued(position: 1, waiting: 1), stream, daemon, after: positions[positions.count - 1])
                #expect(positions.map(\.position) == positions.map(\.position).sorted(by: >), "positions: \(positions)")

                // The next slot is the stream's: the grant event carries the lease, then the body ends.
                #expect(try await daemon.release(held[1]).status == 200)
                let granted = try await Self.nextEvent(stream, daemon)
                #expect(Set(granted.keys) == ["event", "lease"], "the grant event: \(granted)")
                #expect(granted["event"] as? String == "granted", "the grant event: \(granted)")
                let lease = try #require(granted["lease"] as? [String: Any], "the grant event has no lease object: \(granted)")
                #expect(lease["state"] as? String == "granted" && lease["holder"] as? String == "streamed", "lease: \(lease)")
                let id = try #require(lease["id"] as? String)
                let ended = try await RawSocket.onThread { try stream.nextLine() }
                #expect(ended == nil, "more after the grant event: \(ended ?? "")")
                #expect(try await daemon.lease(id)?["state"] as? String == "granted")
                #expect(DaemonProcess.waiting(try await daemon.status()) == 0)
            }
        }

        @Test("eta_s is null before any lease ended and a number after, in queued events, the waiting lease and the status")
        func estimatesAppearWithHistory() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                let path = daemon.socketPath
                let filler = try #require(try await daemon.grantedLease(holder: "filler", claimTTL: 3600)["id"] as? String)

                // No lease has ended yet: nothing to estimate from.
                let first = try OpenRequest.acquire(path: path, body: #"{"holder":"first","wait_s":60,"claim_ttl_s":600}"#, streamed: true)
                let queued = try await Self.nextEvent(first, daemon)
                _ = try Self.queued(queued)
                #expect(queued["eta_s"] is NSNull, "an estimate without history: \(queued)")
                let firstID = try #require(queued["id"] as? String, "a queued event without the lease id: \(queued)")
                let waiting = try #require(try await daemon.lease(firstID), "GET /v1/leases/{id} of a waiting request")
                #expect(waiting["state"] as? String == "waiting" && waiting["eta_s"] is NSNull, "the waiting lease: \(waiting)")
                let before = try await daemon.status()
                let levels = (before["queue"] as? [String: Any])?["priorities"] as? [[String: Any]] ?? []
                #expect(levels.count == 1 && levels.first?["waiting"] as? Int == 1 && levels.first?["eta_s"] is NSNull, "\(before)")

                // The filler ends: one hold in the history, and the first waiter gets the slot.
                #expect(try await daemon.release(filler).status == 200)
                var event = try await Self.nextEvent(first, daemon)
                while event["event"] as? String == "queued" { event = try await Self.nextEvent(first, daemon) }
                #expect(event["event"] as? String == "granted", "\(event)")
                let firstLease = try #require((event["lease"] as? [String: Any])?["id"] as? String)

                // The next waiter has an estimate everywhere it shows.
                let second = try OpenRequest.acquire(path: path, body: #"{"holder":"second","wait_s":60}"#, streamed: true)
                let next = try await Self.nextEvent(second, daemon)
                _ = try Self.queued(next)
                let eta = try #require(next["eta_s"] as? Double, "no estimate after a lease ended: \(next)")
                #expect(eta >= 0)
                let secondID = try #require(next["id"] as? String)
                let secondLease = try #require(try await daemon.lease(secondID))
                #expect(secondLease["state"] as? String == "waiting" && (secondLease["eta_s"] as? Double) != nil, "\(secondLease)")
                let after = try await daemon.status()
                let level = ((after["queue"] as? [String: Any])?["priorities"] as? [[String: Any]])?.first
                #expect(level?["priority"] as? Int == 0 && (level?["eta_s"] as? Double) != nil, "\(after)")
                #expect((level?["last_eta_s"] as? Double) != nil, "\(after)")

                #expect(try await daemon.release(firstLease).status == 200)
                second.close()
            }
        }

        @Test("a streamed waiter whose connection closes leaves the queue at once, and is never granted")
        func hangUpLeavesTheQueue() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                let path = daemon.socketPath
                let held = try #require(try await daemon.grantedLease(holder: "filler", claimTTL: 3600)["id"] as? String)
                let stream = try OpenRequest.acquire(path: path, body: #"{"holder":"streamed","wait_s":60}"#, streamed: true)
                let first = try Self.queued(try await Self.nextEvent(stream, daemon))
                #expect(first == Queued(position: 1, waiting: 1), "first event: \(first)")

                // Nothing changes in the queue after the hang-up, so no event is due that could reveal it: the daemon
                // must notice the closed connection itself, well before the 15 s keep-alive line.
                let closedAt = ContinuousClock.now
                stream.close()
                try await daemon.waitForStatus("the queue empty again", timeout: .seconds(5)) { DaemonProcess.waiting($0) == 0 }
                #expect(closedAt.duration(to: .now) < .seconds(5))

                // The freed slot goes to nobody: no lease was granted to the vanished stream.
                #expect(try await daemon.release(held).status == 200)
                try await Task.sleep(for: .seconds(1))  // several polls: long enough for a wrong grant to show
                let listing = try await daemon.get("/v1/leases").json
                let holders = (listing?["leases"] as? [[String: Any]] ?? []).compactMap { $0["holder"] as? String }
                #expect(holders == ["filler"], "leases: \(holders)")
                #expect((listing?["waiting"] as? [Any])?.isEmpty == true)
            }
        }
    }
}
