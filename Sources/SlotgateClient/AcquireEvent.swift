//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An event of a streamed acquire (`POST /v1/leases?stream=1`).
public enum AcquireEvent: Sendable, Hashable {
    /// The request waits at `position` (1-based, in grant order) among `waiting` waiters; `eta` is the daemon's
    /// estimate of the seconds until its grant (`eta_s`), nil when it has no history to estimate from.
    case queued(position: Int, waiting: Int, eta: Double?)
    /// The slot is granted; this is the last event.
    case granted(SlotgateClient.Lease)
}
