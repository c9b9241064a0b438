//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A point in wall-clock time, in nanoseconds since the Unix epoch.
///
/// slotgate compares its own times with the platform's (`created_at`, a token window's end) and
/// writes them to the ledger, so instants are wall-clock values rather than monotonic ones.
/// Arithmetic uses `Duration`.
public struct Timestamp: Sendable, Hashable, Comparable, InstantProtocol, CustomStringConvertible {
    public typealias Duration = Swift.Duration

    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanosecondsSinceEpoch: Int64

    /// Creates a timestamp.
    /// - Parameter nanosecondsSinceEpoch: nanoseconds since the Unix epoch.
    public init(nanosecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = nanosecondsSinceEpoch
    }

    /// Creates a timestamp from milliseconds since the Unix epoch.
    /// - Parameter millisecondsSinceEpoch: milliseconds since the Unix epoch.
    public init(millisecondsSinceEpoch: Int64) {
        self.nanosecondsSinceEpoch = millisecondsSinceEpoch &* 1_000_000
    }

    /// Milliseconds since the Unix epoch, rounded down.
    public var millisecondsSinceEpoch: Int64 {
        nanosecondsSinceEpoch.dividedRoundingDown(by: 1_000_000)
    }

    /// The epoch itself; used as "long ago".
    public static let distantPast = Timestamp(nanosecondsSinceEpoch: 0)

    public func advanced(by duration: Swift.Duration) -> Timestamp {
        Timestamp(nanosecondsSinceEpoch: nanosecondsSinceEpoch &+ duration.nanoseconds)
    }

    public func duration(to other: Timestamp) -> Swift.Duration {
        .nanoseconds(other.nanosecondsSinceEpoch &- nanosecondsSinceEpoch)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    public var description: String { ISO8601.format(self) }
}

extension Duration {
    /// The whole duration in nanoseconds, saturating at the bounds of `Int64`.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000
    }

    /// The whole duration in milliseconds, rounded down.
    public var milliseconds: Int64 {
        nanoseconds.dividedRoundingDown(by: 1_000_000)
    }

    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Creates a duration from a non-negative number of seconds, as clients send it (`"wait_s": 0.5`).
    /// - Parameter seconds: seconds, possibly fractional.
    public static func seconds(double seconds: Double) -> Duration {
        .nanoseconds(Int64((seconds * 1e9).rounded()))
    }
}

extension Int64 {
    fileprivate func dividedRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && self < 0) ? quotient - 1 : quotient
    }
}
