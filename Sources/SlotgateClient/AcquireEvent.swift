//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An event of a streamed acquire (`POST /v1/leases?stream=1`).
public enum AcquireEvent: Sendable, Hashable {
    /// The request waits at `position` (1-based, in grant order) among `waiting` waiters.
    case queued(position: Int, waiting: Int)
    /// The slot is granted; this is the last event.
    case granted(SlotgateClient.Lease)
}
