//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// Random malformed requests over raw connections: each must get the documented error shape, and the daemon
    /// must still answer `/v1/status` afterwards. The seed is printed with every failure; set
    /// `SLOTGATE_E2E_SEED` to replay one.
    @Suite("Malformed requests")
    struct Fuzz {
        static func seed() -> UInt64 {
            if let text = ProcessInfo.processInfo.environment["SLOTGATE_E2E_SEED"], let seed = UInt64(text) { return seed }
            return UInt64.random(in: 1...UInt64.max)
        }

        @Test("1,200 random malformed requests (bad JSON, wrong types, bad paths and headers) get the documented errors")
        func malformedRequests() async throws {
            let seed = Self.seed()
            let environment = ["SLOTGATE_QUEUE_DEFAULT_WAIT_S": "0"]
            try await withStack(environment: environment) { _, daemon, _ in
                let lease = try #require(try await daemon.grantedLease(wait: 5, claimTTL: 3600)["id"] as? String)
                let path = daemon.socketPath
                let count = 1200
                let deadline = ContinuousClock.now + .seconds(60)
                let failures = try await RawSocket.onThread { () -> [String] in
                    var random = SplitMix64(seed: seed)
                    var generator = MalformedRequests(lease: lease)
                    var failures: [String] = []
                    for index in 0..<count where ContinuousClock.now < deadline {
                        let sample = generator.next(using: &random)
                        let bytes = try RawSocket.exchange(path: path, bytes: sample.bytes, readTimeout: .seconds(10))
                        guard let reply = RawSocket.firstReply(bytes) else {
                            failures.append("#\(index) \(sample.summary): no answer")
                            continue
                        }
                        daemon.record(reply)
                        if let problem = sample.expectation.problem(with: reply) {
                            failures.append("#\(index) \(sample.summary): \(problem)")
                        }
                    }
                    return failures
                }
                #expect(ContinuousClock.now < deadline, "seed \(seed): the requests took more than 60 s")
                #expect(
                    failures.isEmpty,
                    "seed \(seed): \(failures.count) wrong answers, first ones:\n\(failures.prefix(15).joined(separator: "\n"))"
                )
                #expect(try await daemon.get("/v1/status").status == 200, "seed \(seed): /v1/status after the storm")
                #expect(try await daemon.lease(lease)?["state"] as? String == "granted", "seed \(seed): the lease used as a target is intact")
            }
        }

        @Test("requests the HTTP parser rejects (huge headers, garbage, bad framing, truncated bodies) get 400 in the documented shape")
        func malformedFraming() async throws {
            let seed = Self.seed()
            try await withStack { _, daemon, _ in
                let path = daemon.socketPath
                let count = 1000
                let failures = try await RawSocket.onThread { () -> [String] in
                    var random = SplitMix64(seed: seed)
                    var failures: [String] = []
                    for index in 0..<count {
                        let sample = BrokenFraming.next(using: &random)
                        let (bytes, closed) = try RawSocket.exchangeNotingClose(
                            path: path,
                            bytes: sample.bytes,
                            halfClose: sample.halfClose,
                            readTimeout: .seconds(3)
                        )
                        // Every one is answered, parser failures included: the contract has no bare statuses.
                        guard let reply = RawSocket.firstReply(bytes) else {
                            failures.append("#\(index) \(sample.summary): no answer")
                            continue
                        }
                        daemon.record(reply)
                        if let problem = Expectation.exactly(400, "bad_request").problem(with: reply) {
                            failures.append("#\(index) \(sample.summary): \(problem)")
                        } else if !closed {
                            // The connection cannot be read any further after such a request.
                            failures.append("#\(index) \(sample.summary): the connection was still open 3 s after the 400")
                        }
                    }
                    return failures
                }
                #expect(
                    failures.isEmpty,
                    "seed \(seed): \(failures.count) wrong answers, first ones:\n\(failures.prefix(15).joined(separator: "\n"))"
                )
                #expect(try await daemon.get("/v1/status").status == 200, "seed \(seed): /v1/status after the broken requests")
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
