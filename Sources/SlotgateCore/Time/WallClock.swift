//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon's clock: wall-clock time as it was when the process first read it, moved on by a monotonic clock
/// that counts suspend too (`CLOCK_BOOTTIME`).
///
/// Every age, deadline, expiry and "sent after" comparison runs on these instants, so a step of the system's
/// wall clock in either direction (NTP, an operator's `date -s`) changes no decision (design.md invariant 7):
/// the instants keep moving at the monotonic clock's pace. They are still wall-clock values, close to the real
/// time, for what is shown and stored; after a restart the offset is derived anew from the wall clock, so a step
/// that happened meanwhile moves stored expiries by that much once.
///
/// Sleeping uses the continuous clock, so a wall-clock step does not stretch a sleep either.
public struct WallClock: Clock, Sendable {
    public typealias Instant = Timestamp
    public typealias Duration = Swift.Duration

    /// The wall-clock and monotonic readings taken together at the process's first use of the clock.
    private static let anchor: (wall: Int64, monotonic: Int64) = (Self.read(CLOCK_REALTIME), Self.read(Self.monotonicID))

    #if os(Linux)
    private static let monotonicID = CLOCK_BOOTTIME
    #else
    private static let monotonicID = CLOCK_MONOTONIC
    #endif

    /// Creates the clock.
    public init() {}

    public var now: Timestamp {
        let anchor = Self.anchor
        return Timestamp(nanosecondsSinceEpoch: anchor.wall &+ (Self.read(Self.monotonicID) &- anchor.monotonic))
    }

    public var minimumResolution: Swift.Duration { .microseconds(1) }

    public func sleep(until deadline: Timestamp, tolerance: Swift.Duration?) async throws {
        let delay = now.duration(to: deadline)
        if delay > .zero {
            try await ContinuousClock().sleep(for: delay, tolerance: tolerance)
        }
    }

    private static func read(_ id: clockid_t) -> Int64 {
        var spec = timespec()
        clock_gettime(id, &spec)
        return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
    }
}
