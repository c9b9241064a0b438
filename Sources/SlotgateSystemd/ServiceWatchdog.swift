//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CSystemd

/// The service manager's watchdog (`WatchdogSec=`, passed as `WATCHDOG_USEC` and `WATCHDOG_PID`).
public enum ServiceWatchdog {
    /// The watchdog timeout set for this process, or nil when there is none (or it is meant for another pid).
    public static func timeout() -> Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(clamping: usec))
    }

    /// How often to ping: half the timeout, as sd_watchdog_enabled(3) recommends, or nil without a watchdog.
    public static func pingInterval() -> Duration? {
        timeout().map { $0 / 2 }
    }
}
