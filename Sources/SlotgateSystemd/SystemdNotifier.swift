//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Sends notifications to systemd with `sd_notify(0, …)` on the socket named by `NOTIFY_SOCKET`.
public struct SystemdNotifier: ServiceManagerNotifier {
    private init() {}

    /// The notifier for this process: ``SystemdNotifier`` when `NOTIFY_SOCKET` is set, ``SilentNotifier``
    /// otherwise, so a daemon started by hand pays nothing.
    public static func fromEnvironment() -> any ServiceManagerNotifier {
        guard let socket = getenv("NOTIFY_SOCKET"), socket.pointee != 0 else { return SilentNotifier() }
        return SystemdNotifier()
    }

    /// Always true.
    public var isListening: Bool { true }

    /// Sends the message; a manager that went away is not the daemon's problem, so failures are ignored.
    /// - Parameter message: the assignments.
    public func send(_ message: ServiceManagerMessage) {
        // The variadic sd_notifyf cannot be called from Swift; the text is formatted here instead.
        _ = sd_notify(0, message.description)
    }
}
