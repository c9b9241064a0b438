//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A notifier for a process no service manager watches: every message is dropped.
public struct SilentNotifier: ServiceManagerNotifier {
    /// Creates the notifier.
    public init() {}

    /// Always false.
    public var isListening: Bool { false }

    /// Does nothing.
    /// - Parameter message: ignored.
    public func send(_ message: ServiceManagerMessage) {}
}
