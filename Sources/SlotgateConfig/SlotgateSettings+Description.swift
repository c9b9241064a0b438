//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

extension SlotgateSettings: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Every key and its value on one line, for the start-up log. The credentials of
    /// `shared.postgres_url` and `upstream.url` are redacted.
    public var description: String {
        let pairs = SettingKey.ID.allCases.map { "\($0.rawValue)=\(displayText(of: $0))" }
        return "SlotgateSettings(" + pairs.joined(separator: ", ") + ")"
    }

    /// The same as `description`.
    public var debugDescription: String { description }

    /// The keys and their displayed values, so `dump` and debuggers show no database password either.
    public var customMirror: Mirror {
        let children = SettingKey.ID.allCases.map { (label: String?.some($0.rawValue), value: displayText(of: $0) as Any) }
        return Mirror(self, children: children, displayStyle: .struct)
    }

    /// One key's value as an operator reads it, with credentials redacted, for logs of a reload.
    /// - Parameter name: the dotted key, such as `log.level`.
    /// - Returns: the value, or nil when there is no such key.
    public func displayValue(forKey name: String) -> String? {
        SettingKey.ID(rawValue: name).map(displayText(of:))
    }
}
