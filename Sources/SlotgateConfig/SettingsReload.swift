//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The outcome of a reload: the settings to run with, what changed live and what waits for a restart.
public struct SettingsReload: Sendable, Hashable {
    /// The new settings with the running values of the restart-only keys.
    public var settings: SlotgateSettings
    /// The keys whose change takes effect now.
    public var applied: [String]
    /// The keys that changed in the configuration but keep their running value until a restart.
    public var needsRestart: [String]

    /// Creates a reload outcome.
    /// - Parameters:
    ///   - settings: the settings to run with.
    ///   - applied: the keys whose change takes effect now.
    ///   - needsRestart: the keys whose change waits for a restart.
    public init(settings: SlotgateSettings, applied: [String], needsRestart: [String]) {
        self.settings = settings
        self.applied = applied
        self.needsRestart = needsRestart
    }
}
