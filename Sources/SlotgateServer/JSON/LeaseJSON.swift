//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import SlotgateCore

/// A lease as socket-api.md "Objects" shows it; nullable keys are always present.
public struct LeaseJSON: Encodable, Sendable {
    /// The lease.
    public var lease: Lease
    /// While it waits: the estimated time until its grant (`eta_s`, null when there is no history).
    public var eta: Duration?

    /// Wraps a lease.
    /// - Parameters:
    ///   - lease: the lease.
    ///   - eta: while it waits, its estimated wait.
    public init(_ lease: Lease, eta: Duration? = nil) {
        self.lease = lease
        self.eta = eta
    }

    /// An estimated wait as `eta_s` shows it: seconds, to a tenth.
    public static func etaSeconds(_ eta: Duration?) -> Double? {
        eta.map { Double(max(0, $0.milliseconds) / 100) / 10 }
    }

    private enum Keys: String, CodingKey {
        case id, state, holder, uid, gid, pid, priority, host
        case sessionID = "session_id"
        case requestedAt = "requested_at"
        case grantedAt = "granted_at"
        case expiresAt = "expires_at"
        case releasedAt = "released_at"
        case waitedMs = "waited_ms"
        case etaS = "eta_s"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(lease.id.rawValue, forKey: .id)
        try container.encode(lease.state.rawValue, forKey: .state)
        try container.encode(lease.holder, forKey: .holder)
        try container.encode(lease.uid, forKey: .uid)
        try container.encode(lease.gid, forKey: .gid)
        try container.encode(lease.pid, forKey: .pid)
        try container.encode(lease.priority, forKey: .priority)
        try container.encode(lease.sessionID, forKey: .sessionID)
        try container.encode(ISO8601.format(lease.requestedAt), forKey: .requestedAt)
        try container.encode(lease.grantedAt.map(ISO8601.format), forKey: .grantedAt)
        try container.encode(lease.expiresAt.map(ISO8601.format), forKey: .expiresAt)
        try container.encode(lease.releasedAt.map(ISO8601.format), forKey: .releasedAt)
        try container.encode(lease.waited.map(\.milliseconds), forKey: .waitedMs)
        try container.encode(Self.etaSeconds(eta), forKey: .etaS)
        try container.encode(lease.host, forKey: .host)
    }
}

extension LeaseJSON {
    /// The lease as JSON text followed by a newline: the same object as `encode(to:)` makes, written directly.
    ///
    /// Every grant, bind, renew and release answers with one lease; Foundation's `JSONEncoder` took about a tenth of
    /// the daemon's CPU time in an acquire + release round trip, this takes a few microseconds.
    public var text: ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(384)
        buffer.writeJSONMember("{", "id") { $0.writeJSONString(lease.id.rawValue) }
        buffer.writeJSONMember(",", "state") { $0.writeJSONString(lease.state.rawValue) }
        buffer.writeJSONMember(",", "holder") { $0.writeJSONString(lease.holder) }
        buffer.writeJSONMember(",", "uid") { $0.writeString(String(lease.uid)) }
        buffer.writeJSONMember(",", "gid") { $0.writeString(String(lease.gid)) }
        buffer.writeJSONMember(",", "pid") { $0.writeString(String(lease.pid)) }
        buffer.writeJSONMember(",", "priority") { $0.writeString(String(lease.priority)) }
        buffer.writeJSONMember(",", "session_id") { $0.writeJSONString(lease.sessionID) }
        buffer.writeJSONMember(",", "requested_at") { $0.writeJSONTimestamp(lease.requestedAt) }
        buffer.writeJSONMember(",", "granted_at") { $0.writeJSONTimestamp(lease.grantedAt) }
        buffer.writeJSONMember(",", "expires_at") { $0.writeJSONTimestamp(lease.expiresAt) }
        buffer.writeJSONMember(",", "released_at") { $0.writeJSONTimestamp(lease.releasedAt) }
        buffer.writeJSONMember(",", "waited_ms") { $0.writeString(lease.waited.map { String($0.milliseconds) } ?? "null") }
        buffer.writeJSONMember(",", "eta_s") { $0.writeString(Self.etaSeconds(eta).map { "\($0)" } ?? "null") }
        buffer.writeJSONMember(",", "host") { $0.writeJSONString(lease.host) }
        buffer.writeStaticString("}\n")
        return buffer
    }
}

extension ByteBuffer {
    /// Writes `separator`, the key, and the value `value` writes.
    fileprivate mutating func writeJSONMember(_ separator: StaticString, _ key: StaticString, _ value: (inout ByteBuffer) -> Void) {
        writeStaticString(separator)
        writeJSONKey(key)
        value(&self)
    }
}

/// A waiter in listings: `{"holder", "uid", "pid", "priority", "position", "waiting_ms"}`.
public struct WaiterJSON: Encodable, Sendable {
    var holder: String
    var uid: UInt32
    var pid: Int32
    var priority: Int
    var position: Int
    var waitingMs: Int64

    /// Describes a waiter.
    /// - Parameters:
    ///   - waiter: the waiter.
    ///   - position: its 1-based place in grant order.
    ///   - now: the current time.
    public init(_ waiter: WaitQueue.Waiter, position: Int, now: Timestamp) {
        holder = waiter.lease.holder
        uid = waiter.lease.uid
        pid = waiter.lease.pid
        priority = waiter.lease.priority
        self.position = position
        waitingMs = waiter.lease.requestedAt.duration(to: now).milliseconds
    }

    private enum CodingKeys: String, CodingKey {
        case holder, uid, pid, priority, position
        case waitingMs = "waiting_ms"
    }
}

/// `GET /v1/leases`.
public struct LeaseListJSON: Encodable, Sendable {
    /// Live and recently ended leases.
    public var leases: [LeaseJSON]
    /// Waiters in grant order.
    public var waiting: [WaiterJSON]
}
