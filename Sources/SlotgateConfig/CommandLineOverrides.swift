//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The daemon's flags that take part in the configuration: `--config`, `--socket`, `--state-dir`,
/// `--log-level`. A flag wins over the environment, the file and the defaults.
public struct CommandLineOverrides: Sendable, Hashable {
    /// `--config PATH`: the YAML file; nil reads `/etc/slotgate/slotgate.yaml` if it exists.
    public var configPath: String?
    /// `--socket PATH`: `socket.path`.
    public var socketPath: String?
    /// `--state-dir PATH`: `state.dir`.
    public var stateDirectory: String?
    /// `--log-level LEVEL`: `log.level`.
    public var logLevel: String?

    /// Creates the flags.
    /// - Parameters:
    ///   - configPath: `--config`, nil for the default file.
    ///   - socketPath: `--socket`.
    ///   - stateDirectory: `--state-dir`.
    ///   - logLevel: `--log-level`.
    public init(configPath: String? = nil, socketPath: String? = nil, stateDirectory: String? = nil, logLevel: String? = nil) {
        self.configPath = configPath
        self.socketPath = socketPath
        self.stateDirectory = stateDirectory
        self.logLevel = logLevel
    }

    /// The flag that sets a key, if any.
    static func flag(for id: SettingKey.ID) -> String? {
        switch id {
        case .socketPath: "--socket"
        case .stateDirectory: "--state-dir"
        case .logLevel: "--log-level"
        default: nil
        }
    }

    /// The flags that set keys, with the key each sets.
    var keyedValues: [(flag: String, key: SettingKey.ID, value: String)] {
        var values: [(flag: String, key: SettingKey.ID, value: String)] = []
        if let socketPath { values.append(("--socket", .socketPath, socketPath)) }
        if let stateDirectory { values.append(("--state-dir", .stateDirectory, stateDirectory)) }
        if let logLevel { values.append(("--log-level", .logLevel, logLevel)) }
        return values
    }
}
