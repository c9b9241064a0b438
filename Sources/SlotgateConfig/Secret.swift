//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A value that must never reach a log, an answer, a metric or test output, such as the platform's API key.
///
/// Every rendering (`description`, `debugDescription`, `dump`, string interpolation) shows
/// `<redacted>`; only ``reveal()`` gives the value, at the one place that sends it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    /// Wraps a secret value.
    /// - Parameter value: the value.
    public init(_ value: String) {
        self.value = value
    }

    /// The value itself. Call it only where the value is sent (the `Authorization` header).
    /// - Returns: the secret value.
    public func reveal() -> String {
        value
    }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }

    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }

    /// A mirror without children, so `dump` and reflection show nothing of the value.
    public var customMirror: Mirror {
        Mirror(self, children: [], displayStyle: .struct)
    }
}
