//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The source of randomness for backoff jitter: uniform numbers in `0 ..< 1`.
///
/// Production code uses ``system``; tests inject a fixed or scripted source so delays are known.
public struct Jitter: Sendable {
    private let next: @Sendable () -> Double

    /// Creates a source from a function returning uniform numbers in `0 ..< 1`.
    /// - Parameter next: called once per delay; values outside `0 ... 1` are clamped.
    public init(_ next: @escaping @Sendable () -> Double) {
        self.next = next
    }

    /// The system random number generator.
    public static let system = Jitter { Double.random(in: 0..<1) }

    /// Always the same unit value, for tests: 0 gives no wait, 1 the full ceiling.
    /// - Parameter unit: the value returned, clamped to `0 ... 1`.
    public static func fixed(_ unit: Double) -> Jitter {
        Jitter { unit }
    }

    /// The next unit value, clamped to `0 ... 1`.
    public func unit() -> Double {
        let value = next()
        guard value.isFinite else { return 0 }
        return min(max(value, 0), 1)
    }
}
