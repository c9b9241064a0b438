//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SlotgateClient {
    /// A request waiting for a slot, as `GET /v1/leases` lists it.
    public struct Waiter: Sendable, Hashable, Decodable {
        /// Who asked.
        public var holder: String
        /// The requester's uid.
        public var uid: UInt32?
        /// The requester's pid.
        public var pid: Int32?
        /// The priority, -10…10.
        public var priority: Int
        /// 1-based place in grant order.
        public var position: Int
        /// How long it has waited so far, in milliseconds.
        public var waitingMs: Int64

        private enum CodingKeys: String, CodingKey {
            case holder, uid, pid, priority, position
            case waitingMs = "waiting_ms"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            holder = try container.decodeIfPresent(String.self, forKey: .holder) ?? ""
            uid = try container.decodeIfPresent(UInt32.self, forKey: .uid)
            pid = try container.decodeIfPresent(Int32.self, forKey: .pid)
            priority = try container.decodeIfPresent(Int.self, forKey: .priority) ?? 0
            position = try container.decode(Int.self, forKey: .position)
            waitingMs = try container.decodeIfPresent(Int64.self, forKey: .waitingMs) ?? 0
        }
    }

}
