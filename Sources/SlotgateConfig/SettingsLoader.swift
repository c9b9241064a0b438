//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Configuration
import Foundation

/// Builds ``SlotgateSettings`` from the layers of design.md "Configuration keys", later ones winning:
/// built-in defaults, the YAML file, `SLOTGATE_*` environment variables, command-line flags.
///
/// One swift-configuration `ConfigReader` over four providers reads every key. Each value is then parsed
/// and checked here, with one message format whichever layer it came from, and the unknown-key check
/// covers the file and the `SLOTGATE_*` variables (swift-configuration ignores keys nobody reads).
/// The daemon loads at start and again on SIGHUP with the same loader; on an error at reload it keeps
/// the running settings.
public struct SettingsLoader: Sendable {
    /// The packaged place of the config file: `/etc/slotgate/slotgate.yaml`.
    public static let standardConfigPath = "/etc/slotgate/slotgate.yaml"

    /// The flags.
    public var overrides: CommandLineOverrides
    /// The part of the process environment the settings read: `STATE_DIRECTORY` and the `SLOTGATE_*`
    /// variables, without the API key's (so printing a loader cannot show the key).
    public private(set) var environment: [String: String]
    /// The host's name and machine id, for the default `shared.host_id`.
    public var host: HostFacts
    /// The file read when `--config` is not given; it may be missing.
    public var defaultConfigPath: String

    /// Creates a loader.
    /// - Parameters:
    ///   - overrides: the flags.
    ///   - environment: the process environment; tests pass their own.
    ///   - host: the host's name and machine id.
    ///   - defaultConfigPath: the file read when `--config` is not given.
    public init(
        overrides: CommandLineOverrides = CommandLineOverrides(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        host: HostFacts = .current(),
        defaultConfigPath: String = SettingsLoader.standardConfigPath
    ) {
        self.overrides = overrides
        self.environment = environment.filter { name, _ in
            name == "STATE_DIRECTORY" || (name.hasPrefix(EnvironmentLayer.prefix) && !APIKey.environmentVariables.contains(name))
        }
        self.host = host
        self.defaultConfigPath = defaultConfigPath
    }

    /// Reads and validates the settings.
    /// - Returns: the settings.
    /// - Throws: ``ConfigError`` naming the offending key and where it was set.
    public func load() async throws(ConfigError) -> SlotgateSettings {
        let configPath = overrides.configPath
        if configPath?.isEmpty == true {
            throw ConfigError.emptyFlag("--config")
        }
        let file = try await ConfigFileLayer.open(path: configPath ?? defaultConfigPath, explicit: configPath != nil)
        let environmentLayer = try EnvironmentLayer(environment: environment)
        let defaults = SlotgateSettings.defaults(environment: environment, host: host)

        var layers: [(provider: any ConfigProvider, source: Source)] = [
            (Self.provider(named: "flags", overrides.keyedValues.map { ($0.key, $0.value) }), .flags),
            (environmentLayer.provider(), .environment(environmentLayer)),
        ]
        if let file, let provider = file.provider {
            layers.append((provider, .file(file.path)))
        }
        layers.append((Self.provider(named: "defaults", SettingKey.ID.allCases.map { ($0, defaults.text(of: $0)) }), .defaults))

        let recorder = LayerRecorder()
        let reader = ConfigReader(providers: layers.map(\.provider), accessReporter: recorder)
        var settings = defaults
        var origins: [SettingKey.ID: (text: String, source: String)] = [:]
        for id in SettingKey.ID.allCases {
            let key = ConfigKey(SettingKey(id).components)
            func source() -> Source { recorder.answer(for: id.rawValue).map { layers[$0.providerIndex].source } ?? .defaults }
            func wrongShape(_ problem: String) -> ConfigError {
                ConfigError.invalidValue(key: id.rawValue, problem: problem, value: nil, source: source().describe(id))
            }
            let text: String
            do {
                text = try reader.requiredString(forKey: key)
            } catch  where SettingKey(id).isList {
                // A YAML list: its entries joined as the one-line form (commas) that the environment uses.
                guard let entries = reader.stringArray(forKey: key) else { throw wrongShape("must be a list of strings or one line") }
                text = entries.joined(separator: ", ")
            } catch {
                throw wrongShape("must be a single value, not a list or a mapping")
            }
            let source = source()
            let normalized = Self.normalized(text, from: source)
            origins[id] = (normalized, source.describe(id))
            do {
                try settings.assign(normalized, to: id)
            } catch {
                throw Self.error(for: id, problem: error, text: normalized, source: source.describe(id))
            }
        }
        if let (id, problem) = settings.inconsistency() {
            let origin = origins[id] ?? (settings.text(of: id), Source.defaults.describe(id))
            throw Self.error(for: id, problem: problem, text: origin.text, source: origin.source)
        }
        return settings
    }

    /// Reads and validates the settings.
    /// - Parameters:
    ///   - overrides: the flags.
    ///   - environment: the process environment.
    ///   - host: the host's name and machine id.
    /// - Returns: the settings.
    /// - Throws: ``ConfigError`` naming the offending key and where it was set.
    public static func load(
        overrides: CommandLineOverrides = CommandLineOverrides(),
        environment: [String: String],
        host: HostFacts = .current()
    ) async throws(ConfigError) -> SlotgateSettings {
        try await SettingsLoader(overrides: overrides, environment: environment, host: host).load()
    }

    private static func provider(named name: String, _ values: [(SettingKey.ID, String)]) -> InMemoryProvider {
        var entries: [AbsoluteConfigKey: ConfigValue] = [:]
        for (id, text) in values {
            entries[AbsoluteConfigKey(SettingKey(id).components)] = ConfigValue(.string(text), isSecret: SettingKey(id).isSensitive)
        }
        return InMemoryProvider(name: name, values: entries)
    }

    /// Trims white space; a YAML null (`key:` with no value, `~`, `null`) reads as empty.
    private static func normalized(_ text: String, from source: Source) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if case .file = source, ConfigFileLayer.isNull(trimmed) {
            return ""
        }
        return trimmed
    }

    private static func error(for id: SettingKey.ID, problem: ValueProblem, text: String, source: String) -> ConfigError {
        ConfigError.invalidValue(
            key: id.rawValue,
            problem: problem.problem,
            value: SettingKey(id).isSensitive ? nil : text,
            source: source
        )
    }
}

extension SettingsLoader {
    /// Where a value came from.
    enum Source {
        case flags
        case environment(EnvironmentLayer)
        case file(String)
        case defaults

        /// `in /etc/slotgate/slotgate.yaml`, `from environment variable SLOTGATE_SLOTS_MAX`, `from --socket`.
        func describe(_ id: SettingKey.ID) -> String {
            switch self {
            case .flags:
                let flag = CommandLineOverrides.flag(for: id) ?? "the command line"
                return "from \(flag)"
            case .environment(let layer):
                return "from environment variable \(layer.variableName(for: id))"
            case .file(let path):
                return "in \(path)"
            case .defaults:
                return id == .stateDirectory ? "the default, from $STATE_DIRECTORY" : "the built-in default"
            }
        }
    }
}
