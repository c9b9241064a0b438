//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

@testable import AGPSimulator

/// The pure model, driven with explicit instants: no actor, no HTTP, no sleeping.
@Suite("PlatformModel (pure, clock passed in)")
struct PlatformModelTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func at(_ milliseconds: Int) -> Date {
        self.t0.addingTimeInterval(Double(milliseconds) / 1000)
    }

    /// Dates are doubles; instants reached through several additions differ in the last bits.
    func close(_ date: Date?, _ expected: Date) -> Bool {
        guard let date else { return false }
        return abs(date.timeIntervalSince(expected)) < 1e-6
    }

    func model(_ change: (inout SimulatorConfiguration) -> Void = { _ in }) -> PlatformModel {
        var configuration = SimulatorConfiguration()
        configuration.runDuration = .milliseconds(500)...(.milliseconds(500))
        change(&configuration)
        return PlatformModel(configuration: configuration)
    }

    func create(_ model: inout PlatformModel, at time: Date, key: String? = nil) -> APIReply {
        let body = Array(#"{"agent": "a"}"#.utf8)
        guard case .success(let request) = model.validateCreate(body) else { return .empty(0) }
        if let early = model.beginCreate(key: key, body: body, at: time) { return early }
        return model.completeCreate(key: key, body: body, request: request, caller: "hk-sim-key", at: time)
    }

    @Test func statusIsAFunctionOfTime() {
        var model = self.model()
        let reply = self.create(&model, at: self.at(0))
        #expect(reply.status == 201)
        let session = model.sessions[0]
        #expect(session.status(at: self.at(99)) == "pending")
        #expect(session.status(at: self.at(100)) == "running")
        #expect(session.status(at: self.at(599)) == "running")
        model.advance(to: self.at(600))
        #expect(model.sessions[0].status(at: self.at(600)) == "completed")
        #expect(self.close(model.sessions[0].finishedAt, self.at(600)))
        #expect(self.close(model.sessions[0].startedAt(at: self.at(600)), self.at(100)))
    }

    @Test func endsAreSettledBeforeACreationSoThePeakIsExact() {
        var model = self.model { $0.limit = 2 }
        #expect(self.create(&model, at: self.at(0)).status == 201)
        #expect(self.create(&model, at: self.at(10)).status == 201)
        // Both end by 610; creations at 650 must see zero holders, not two.
        #expect(self.create(&model, at: self.at(650)).status == 201)
        #expect(self.create(&model, at: self.at(650)).status == 201)
        let stats = model.snapshot(at: self.at(650))
        #expect(stats.peakNonTerminal == 2)
        #expect(stats.createsRefused == 0)
        #expect(self.create(&model, at: self.at(650)).status == 429)
        #expect(model.snapshot(at: self.at(650)).refused.first?.active == 2)
    }

    @Test func queuedSessionsArePromotedAtTheInstantASlotFrees() {
        var model = self.model {
            $0.limit = 1
            $0.queueAtLimit = true
        }
        _ = self.create(&model, at: self.at(0))  // runs 100...600
        _ = self.create(&model, at: self.at(1))  // queued
        _ = self.create(&model, at: self.at(2))  // queued
        model.advance(to: self.at(5000))
        // second: promoted at 600, pending until 700, ends 1200; third: promoted at 1200, ends 1800.
        #expect(self.close(model.sessions[1].finishedAt, self.at(1200)))
        #expect(self.close(model.sessions[2].startedAt(at: self.at(5000)), self.at(1300)))
        #expect(self.close(model.sessions[2].finishedAt, self.at(1800)))
        #expect(model.snapshot(at: self.at(5000)).peakNonTerminal == 3)
    }

    @Test func idempotencyRecordsAreReleasedOnRefusal() {
        var model = self.model { $0.limit = 0 }
        #expect(self.create(&model, at: self.at(0), key: "k").status == 429)
        model.setLimit(1, at: self.at(1))
        #expect(self.create(&model, at: self.at(2), key: "k").status == 201)
        #expect(self.create(&model, at: self.at(3), key: "k").status == 201)
        #expect(model.sessions.count == 1)
    }

    @Test func faultsAreConsumedInOrder() {
        var model = self.model()
        model.faults = SimulatorFaults(serverErrors: 2, unavailable: 1, tooManyRequests: 1)
        #expect(model.admit(route: "create").reply?.status == 500)
        #expect(model.admit(route: "quota").reply?.status == 502)
        #expect(model.admit(route: "create").reply?.status == 503)
        #expect(model.admit(route: "quota").reply == nil)
        #expect(model.admit(route: "create").reply?.status == 429)
        #expect(model.admit(route: "create").reply == nil)
        #expect(model.stats.requests == ["create": 4, "quota": 2])
    }
}
