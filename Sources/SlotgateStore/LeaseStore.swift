//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// Where leases live across restarts (design.md invariant 4): the embedded SQLite ledger, or PostgreSQL in shared
/// mode. The gatekeeper writes through `LeasePersistence`; the daemon loads at start and reads the history for
/// `GET /v1/leases?all=1`.
///
/// Every method throws rather than hides a failure: a grant whose write threw is taken back and answered
/// `state_unwritable`, so a lease is never answered without being on disk.
public protocol LeaseStore: LeasePersistence {
    /// Every stored lease, live and ended, oldest end first; live leases (no end) come first in id order.
    func load() async throws -> [Lease]

    /// Deletes ended leases that ended before `cutoff`.
    /// - Parameter cutoff: leases that ended strictly before this time go.
    /// - Returns: how many were deleted.
    @discardableResult
    func prune(endedBefore cutoff: Timestamp) async throws -> Int
}
