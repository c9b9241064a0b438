//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Why the settings or the API key could not be loaded. The message always names the key (or file,
/// flag, environment variable) and where the bad value came from, and never shows a secret.
///
/// Examples:
/// - `slots.max: must be a whole number ≥ 1, got "-3" (in /etc/slotgate/slotgate.yaml)`
/// - `unknown key "slots.maxx" in /etc/slotgate/slotgate.yaml (did you mean slots.max?)`
/// - `--config /x.yaml: no such file`
public struct ConfigError: Error, Hashable, CustomStringConvertible {
    private enum Base: Hashable {
        case invalidValue(key: String, problem: String, value: String?, source: String)
        case unknownFileKey(key: String, path: String, suggestion: String?)
        case unknownEnvironmentVariable(name: String, suggestion: String?)
        case missingConfigFile(path: String)
        case unusableConfigFile(path: String, problem: String)
        case emptyFlag(flag: String)
        case missingAPIKey
        case unusableAPIKey(source: String, problem: String)
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The offending key (`slots.max`), environment variable (`SLOTGATE_SLOTS_MAXX`), flag (`--config`)
    /// or file path; nil for a missing API key.
    public var key: String? {
        switch base {
        case .invalidValue(let key, _, _, _), .unknownFileKey(let key, _, _): key
        case .unknownEnvironmentVariable(let name, _): name
        case .missingConfigFile: "--config"
        case .unusableConfigFile(let path, _): path
        case .emptyFlag(let flag): flag
        case .missingAPIKey: nil
        case .unusableAPIKey(let source, _): source
        }
    }

    /// One line for the operator, naming the key and the source.
    public var description: String {
        switch base {
        case .invalidValue(let key, let problem, let value, let source):
            let got = value.map { ", got \"\(Self.shortened($0))\"" } ?? ""
            return "\(key): \(problem)\(got) (\(source))"
        case .unknownFileKey(let key, let path, let suggestion):
            return "unknown key \"\(key)\" in \(path)" + Self.hint(suggestion)
        case .unknownEnvironmentVariable(let name, let suggestion):
            return "unknown environment variable \(name): slotgate has no such key" + Self.hint(suggestion)
        case .missingConfigFile(let path):
            return "--config \(path): no such file"
        case .unusableConfigFile(let path, let problem):
            return "\(path): \(problem)"
        case .emptyFlag(let flag):
            return "\(flag): needs a value"
        case .missingAPIKey:
            return
                "no API key for the platform: provide the systemd credential \(APIKey.credentialName) "
                + "(LoadCredential=\(APIKey.credentialName):/etc/slotgate/\(APIKey.credentialName) in the unit), "
                + "or set SLOTGATE_API_KEY, H_API_KEY or HAI_API_KEY; "
                + "with upstream.simulate: true the built-in simulator needs none"
        case .unusableAPIKey(let source, let problem):
            return "the API key in \(source) \(problem)"
        }
    }

    private static func hint(_ suggestion: String?) -> String {
        suggestion.map { " (did you mean \($0)?)" } ?? ""
    }

    private static func shortened(_ value: String) -> String {
        let flat = String(value.map { $0.isNewline ? " " : $0 })
        return flat.count > 80 ? String(flat.prefix(77)) + "..." : flat
    }
}

extension ConfigError {
    static func invalidValue(key: String, problem: String, value: String?, source: String) -> ConfigError {
        ConfigError(.invalidValue(key: key, problem: problem, value: value, source: source))
    }

    static func unknownFileKey(_ key: String, path: String, suggestion: String?) -> ConfigError {
        ConfigError(.unknownFileKey(key: key, path: path, suggestion: suggestion))
    }

    static func unknownEnvironmentVariable(_ name: String, suggestion: String?) -> ConfigError {
        ConfigError(.unknownEnvironmentVariable(name: name, suggestion: suggestion))
    }

    static func missingConfigFile(_ path: String) -> ConfigError {
        ConfigError(.missingConfigFile(path: path))
    }

    static func unusableConfigFile(_ path: String, problem: String) -> ConfigError {
        ConfigError(.unusableConfigFile(path: path, problem: problem))
    }

    static func emptyFlag(_ flag: String) -> ConfigError {
        ConfigError(.emptyFlag(flag: flag))
    }

    static func missingAPIKey() -> ConfigError {
        ConfigError(.missingAPIKey)
    }

    static func unusableAPIKey(source: String, problem: String) -> ConfigError {
        ConfigError(.unusableAPIKey(source: source, problem: problem))
    }
}
