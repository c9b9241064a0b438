//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SlotgateSettings {
    /// The keys whose values differ from `old`, in the order of keyReference.
    /// - Parameter old: the settings in force before.
    /// - Returns: the dotted names of the changed keys.
    public func changes(from old: SlotgateSettings) -> [String] {
        SettingKey.ID.allCases.filter { text(of: $0) != old.text(of: $0) }.map(\.rawValue)
    }

    /// Applies newly loaded settings to these running ones, as SIGHUP does.
    ///
    /// Keys that apply live (SettingKey/appliesOnReload: `slots.*`, `queue.*` but `max_connections`,
    /// `leases.*`, `tokens.*`, the upstream poll intervals, timeout and staleness, `log.level`) take the
    /// new value. Restart-only keys (`socket.*`, `state.*`, `shared.*`, `metrics.listen`,
    /// `upstream.url`, `upstream.simulate*`, `queue.max_connections`) keep the running value, and the
    /// outcome lists them so the daemon can log that they wait for a restart. The cross-key rules only tie
    /// live keys together, so the result is as valid as `new`.
    /// - Parameter new: settings just loaded and validated by SettingsLoader.
    /// - Returns: the settings to swap in and the changed keys.
    public func reloaded(with new: SlotgateSettings) -> SettingsReload {
        var merged = new
        var applied: [String] = []
        var needsRestart: [String] = []
        for key in SettingKey.all where new.text(of: key.id) != text(of: key.id) {
            if key.appliesOnReload {
                applied.append(key.name)
            } else {
                merged.copy(key.id, from: self)
                needsRestart.append(key.name)
            }
        }
        return SettingsReload(settings: merged, applied: applied, needsRestart: needsRestart)
    }
}
