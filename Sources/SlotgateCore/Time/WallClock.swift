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

/// The system's real-time clock, as a Swift `Clock` whose instants are `Timestamp`s.
///
/// Sleeping uses the continuous clock, so a wall-clock step does not stretch a sleep.
public struct WallClock: Clock, Sendable {
    public typealias Instant = Timestamp
    public typealias Duration = Swift.Duration

    /// Creates the clock.
    public init() {}

    public var now: Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(nanosecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec))
    }

    public var minimumResolution: Swift.Duration { .microseconds(1) }

    public func sleep(until deadline: Timestamp, tolerance: Swift.Duration?) async throws {
        let delay = now.duration(to: deadline)
        if delay > .zero {
            try await ContinuousClock().sleep(for: delay, tolerance: tolerance)
        }
    }
}
