//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

extension GatekeeperStatus {
    /// One line for `systemctl status` (`STATUS=`): `7/10 slots in use, 3 held here, 5 waiting, quota 0.8 s old`,
    /// or why grants are paused.
    var serviceManagerLine: String {
        let local = "\(slots.heldByLeases) held here, \(waiting) waiting"
        switch pausedBy {
        case .shuttingDown:
            return "stopping: answering waiters shutting_down, \(local)"
        case .tokenBudget:
            return "grants paused: token budget at its minimum, \(slots.inUse)/\(slots.limit) slots in use, \(local)"
        case .upstreamUnavailable:
            guard let quotaAge else { return "grants paused: no platform reading yet, \(local)" }
            let reason = lastError.map { ": \($0.prefix(120))" } ?? ""
            return "grants paused: platform unreachable, quota \(Self.seconds(quotaAge)) s old\(reason), \(local)"
        case nil:
            let age = quotaAge.map { ", quota \(Self.seconds($0)) s old" } ?? ""
            return "\(slots.inUse)/\(slots.limit) slots in use, \(local)\(age)"
        }
    }

    /// Seconds with one decimal, e.g. `0.8`.
    private static func seconds(_ duration: Duration) -> String {
        let tenths = max(0, Int((duration / .milliseconds(100)).rounded()))
        return "\(tenths / 10).\(tenths % 10)"
    }
}
