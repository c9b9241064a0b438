//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SlotgateClient {
    /// `GET /v1/leases`: live and recently ended leases, and the waiters in grant order.
    public struct Listing: Sendable, Hashable, Decodable {
        /// Live leases and those that ended in the last minutes.
        public var leases: [Lease]
        /// Waiters, first to be granted first.
        public var waiting: [Waiter]

        private enum CodingKeys: String, CodingKey {
            case leases, waiting
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            leases = try container.decodeIfPresent([Lease].self, forKey: .leases) ?? []
            waiting = try container.decodeIfPresent([Waiter].self, forKey: .waiting) ?? []
        }
    }
}
