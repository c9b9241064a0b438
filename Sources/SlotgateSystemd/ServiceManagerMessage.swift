//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One datagram to the service manager: `NAME=value` assignments, one per line, as sd_notify(3) describes them.
public struct ServiceManagerMessage: Sendable, Hashable, CustomStringConvertible {
    /// The assignments, in order.
    public private(set) var assignments: [String]

    /// Creates a message from assignments such as `READY=1`.
    /// - Parameter assignments: the `NAME=value` lines.
    public init(_ assignments: [String]) {
        self.assignments = assignments
    }

    /// `READY=1`: start-up (or a reload) is finished.
    public static let ready = ServiceManagerMessage(["READY=1"])
    /// `STOPPING=1`: shutdown has begun.
    public static let stopping = ServiceManagerMessage(["STOPPING=1"])
    /// `WATCHDOG=1`: the keep-alive ping.
    public static let watchdog = ServiceManagerMessage(["WATCHDOG=1"])

    /// `RELOADING=1` with the `CLOCK_MONOTONIC` time the reload began, which systemd 253+ requires.
    /// - Parameter monotonicUsec: microseconds of `CLOCK_MONOTONIC`.
    public static func reloading(monotonicUsec: UInt64) -> ServiceManagerMessage {
        ServiceManagerMessage(["RELOADING=1", "MONOTONIC_USEC=\(monotonicUsec)"])
    }

    /// `STATUS=`: a one-line description for `systemctl status`.
    /// - Parameter text: the text; line breaks become spaces.
    public static func status(_ text: String) -> ServiceManagerMessage {
        ServiceManagerMessage([]).adding(status: text)
    }

    /// This message with a `STATUS=` line added.
    /// - Parameter status: the status text, or nil to add nothing.
    public func adding(status: String?) -> ServiceManagerMessage {
        guard let status else { return self }
        var copy = self
        let oneLine = status.split(whereSeparator: \.isNewline).joined(separator: " ")
        copy.assignments.append("STATUS=\(oneLine)")
        return copy
    }

    /// The datagram's text: the assignments joined by newlines.
    public var description: String { assignments.joined(separator: "\n") }
}
