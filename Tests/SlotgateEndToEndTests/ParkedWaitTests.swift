//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// Long-polls wait in the daemon's parking lot, outside SwiftNIO: these check that they behave as any other
    /// connection does (grant order, hang-ups, the answer, the connection limit).
    @Suite("Parked long-polls")
    struct ParkedWaits {
        @Test("200 parked long-polls: the 100 that hang up leave the queue, the others are granted one by one in queue order")
        func hangUpsAndGrantOrder() async throws {
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none")) { _, daemon, _ in
                var held = try await daemon.grantedLease(holder: "holder", wait: 10)
                let path = daemon.socketPath
                var open: [String: OpenRequest] = [:]
                for index in 0..<200 {
                    let holder = "w\(index)"
                    open[holder] = try OpenRequest.acquire(path: path, body: #"{"holder":"\#(holder)","wait_s":60}"#, streamed: false)
                }
                try await daemon.waitForStatus("200 waiting", timeout: .seconds(20)) { DaemonProcess.waiting($0) == 200 }
                for index in stride(from: 1, to: 200, by: 2) { open.removeValue(forKey: "w\(index)")?.close() }
                try await daemon.waitForStatus("the 100 that hung up gone", timeout: .seconds(5)) { DaemonProcess.waiting($0) == 100 }

                let listing = try await daemon.get("/v1/leases").json
                let queue = (listing?["waiting"] as? [[String: Any]] ?? []).compactMap { $0["holder"] as? String }
                #expect(Set(queue) == Set(open.keys), "the queue holds exactly the connected waiters")
                for expected in queue.prefix(20) {
                    let leaseID = try #require(held["id"] as? String)
                    #expect(try await daemon.release(leaseID).status == 200)
                    let next = open.removeValue(forKey: expected)
                    let request = try #require(next)
                    let reply = try await RawSocket.onThread { try request.reply(timeout: .seconds(10)) }
                    #expect(reply.status == 201, "the head of the queue (\(expected)) is granted")
                    #expect(reply.header("Connection")?.lowercased() == "close")
                    #expect(reply.json?["holder"] as? String == expected, "granted in queue order")
                    held = try #require(reply.json)
                }
                try await daemon.waitForStatus("80 still waiting") { DaemonProcess.waiting($0) == 80 }
            }
        }

        @Test("queue.max_connections counts parked connections: the next client waits until one of them hangs up")
        func connectionLimitCountsParked() async throws {
            let environment = ["SLOTGATE_QUEUE_MAX_CONNECTIONS": "4", "SLOTGATE_SOCKET_MAX_CONNECTIONS_PER_UID": "4"]
            try await withStack(simulator: SimulatorOptions(limit: 1, runMilliseconds: "none"), environment: environment) { _, daemon, _ in
                _ = try await daemon.grantedLease(holder: "holder", wait: 10)
                let path = daemon.socketPath
                var parked: [OpenRequest] = []
                for index in 0..<3 {
                    parked.append(try OpenRequest.acquire(path: path, body: #"{"holder":"p\#(index)","wait_s":60}"#, streamed: false))
                }
                try await daemon.waitForStatus("3 waiting") { DaemonProcess.waiting($0) == 3 }
                // Connected before the next client: the listen backlog hands connections out in order.
                parked.append(try OpenRequest.acquire(path: path, body: #"{"holder":"p3","wait_s":60}"#, streamed: false))

                let status = Array("GET /v1/status HTTP/1.1\r\nHost: slotgate\r\n\r\n".utf8)
                let pending = try OpenRequest(path: path, request: status)
                let early = try? await RawSocket.onThread { try pending.reply(timeout: .seconds(1)) }
                #expect(early == nil, "with 4 connections open (all parked) a fifth is not served")

                parked[0].close()
                let reply = try await RawSocket.onThread { try pending.reply(timeout: .seconds(5)) }
                #expect(reply.status == 200, "served once a parked client hung up")
                // The connection's slot frees when it closes; the gatekeeper withdraws its request just after, so
                // the answer may still count it.
                let waiting = (reply.json?["queue"] as? [String: Any])?["waiting"] as? Int
                #expect(waiting == 3 || waiting == 4, "\(reply.text)")
                pending.close()
                try await daemon.waitForStatus("the hung-up request withdrawn") { DaemonProcess.waiting($0) == 3 }
            }
        }
    }
}
