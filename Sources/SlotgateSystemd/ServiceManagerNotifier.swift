//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Tells the service manager how the daemon is doing: readiness, reloads, shutdown, a status line and watchdog
/// pings. ``SystemdNotifier`` talks to systemd; ``SilentNotifier`` is used when no manager listens.
public protocol ServiceManagerNotifier: Sendable {
    /// Whether a manager listens; false means every message is dropped, so callers can skip the work of
    /// composing them (a status poller need not run at all).
    var isListening: Bool { get }

    /// Sends one message.
    /// - Parameter message: the assignments to send together.
    func send(_ message: ServiceManagerMessage)
}

extension ServiceManagerNotifier {
    /// `READY=1`, with a status line when given.
    /// - Parameter status: the status text, or nil.
    public func ready(status: String? = nil) {
        send(.ready.adding(status: status))
    }

    /// `RELOADING=1` and `MONOTONIC_USEC=` of now.
    /// - Parameter monotonicUsec: the reload's start on `CLOCK_MONOTONIC`; defaults to now.
    public func reloading(monotonicUsec: UInt64 = MonotonicTime.nowMicroseconds()) {
        send(.reloading(monotonicUsec: monotonicUsec))
    }

    /// `STOPPING=1`, with a status line when given.
    /// - Parameter status: the status text, or nil.
    public func stopping(status: String? = nil) {
        send(.stopping.adding(status: status))
    }

    /// `STATUS=`.
    /// - Parameter text: one line for `systemctl status`.
    public func status(_ text: String) {
        send(.status(text))
    }

    /// `WATCHDOG=1`.
    public func watchdog() {
        send(.watchdog)
    }
}
