//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// Shared helpers for the core tests.
enum Fixture {
    static let start = Timestamp(millisecondsSinceEpoch: 1_795_953_600_000)

    static func machine(
        limit: Int? = nil,
        configure: (inout GatekeeperSettings) -> Void = { _ in }
    ) -> GatekeeperStateMachine {
        var settings = GatekeeperSettings()
        configure(&settings)
        var machine = GatekeeperStateMachine(settings: settings, host: "test-host", seed: 42)
        if let limit {
            _ = machine.observe(snapshot(at: start, limit: limit, active: 0), now: start)
        }
        return machine
    }

    static func snapshot(at sentAt: Timestamp, limit: Int, active: Int, sessions: [ListedSession] = []) -> PlatformSnapshot {
        PlatformSnapshot(sentAt: sentAt, quota: QuotaReading(scope: .org, limit: limit, active: active), sessions: sessions)
    }

    static func running(_ ids: String...) -> [ListedSession] {
        ids.map { ListedSession(id: $0, status: .running) }
    }
}

extension Timestamp {
    static func + (lhs: Timestamp, rhs: Duration) -> Timestamp { lhs.advanced(by: rhs) }
    static func - (lhs: Timestamp, rhs: Duration) -> Timestamp { lhs.advanced(by: .zero - rhs) }
}

extension [GatekeeperAction] {
    var granted: [Lease] {
        compactMap {
            if case .grant(let lease) = $0 { return lease }
            return nil
        }
    }

    var failures: [LeaseID: GatekeeperError] {
        var result: [LeaseID: GatekeeperError] = [:]
        for case .fail(let id, let error) in self { result[id] = error }
        return result
    }

    var upstream: [UpstreamWork] {
        compactMap {
            if case .upstream(let work) = $0 { return work }
            return nil
        }
    }

    var persisted: [Lease] {
        compactMap {
            if case .persist(let lease) = $0 { return lease }
            return nil
        }
    }
}

extension GatekeeperStateMachine {
    /// Acquires and returns the lease when granted at once.
    mutating func take(
        holder: String = "h",
        uid: UInt32 = 1000,
        priority: Int = 0,
        wait: Duration? = .zero,
        now: Timestamp
    ) -> (LeaseID, [GatekeeperAction]) {
        acquire(AcquireRequest(holder: holder, uid: uid, gid: uid, pid: 1, priority: priority, wait: wait), now: now)
    }

    /// Acquires with wait 0 and returns the granted lease or nil.
    mutating func grantNow(holder: String = "h", uid: UInt32 = 1000, priority: Int = 0, now: Timestamp) -> Lease? {
        take(holder: holder, uid: uid, priority: priority, wait: .zero, now: now).1.granted.first
    }
}

struct NotGranted: Error {}

extension GatekeeperStateMachine {
    /// Acquires with wait 0 and throws unless granted.
    mutating func mustGrant(holder: String = "h", uid: UInt32 = 1000, priority: Int = 0, now: Timestamp) throws -> Lease {
        guard let lease = grantNow(holder: holder, uid: uid, priority: priority, now: now) else { throw NotGranted() }
        return lease
    }
}
