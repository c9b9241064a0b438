//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Configuration

/// The `SLOTGATE_*` variables of the environment that set keys, checked against the key list.
///
/// Variables without the `SLOTGATE_` prefix are ignored. `SLOTGATE_API_KEY` is the API key (not a
/// setting, and never handed to the configuration reader); `SLOTGATE_SOCKET` is another name of
/// `SLOTGATE_SOCKET_PATH`, which wins when both are set. Any other `SLOTGATE_*` name is an error.
struct EnvironmentLayer {
    static let prefix = "SLOTGATE_"
    static let socketAlias = "SLOTGATE_SOCKET"

    /// The variables that set keys, by their canonical names (`SLOTGATE_SOCKET_PATH`).
    let variables: [String: String]
    /// The variable the user actually set, when it is not the canonical name.
    private let spelledAs: [SettingKey.ID: String]

    init(environment: [String: String]) throws(ConfigError) {
        let byName = Dictionary(uniqueKeysWithValues: SettingKey.all.map { ($0.environmentVariable, $0) })
        var variables: [String: String] = [:]
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix(Self.prefix) {
            if byName[name] != nil {
                variables[name] = value
            } else if name != Self.socketAlias && !APIKey.environmentVariables.contains(name) {
                throw ConfigError.unknownEnvironmentVariable(
                    name,
                    suggestion: KeySuggestion.nearest(to: name, among: Array(byName.keys).sorted(), separator: "_")
                )
            }
        }
        var spelledAs: [SettingKey.ID: String] = [:]
        let canonicalSocket = SettingKey(.socketPath).environmentVariable
        if variables[canonicalSocket] == nil, let value = environment[Self.socketAlias] {
            variables[canonicalSocket] = value
            spelledAs[.socketPath] = Self.socketAlias
        }
        self.variables = variables
        self.spelledAs = spelledAs
    }

    /// The name of the variable that set `id`, for error messages.
    func variableName(for id: SettingKey.ID) -> String {
        spelledAs[id] ?? SettingKey(id).environmentVariable
    }

    /// A provider for the reader: `upstream.poll_interval_s` is read from `SLOTGATE_UPSTREAM_POLL_INTERVAL_S`.
    func provider() -> some ConfigProvider {
        let sensitive = Set(SettingKey.all.filter(\.isSensitive).map(\.environmentVariable))
        return EnvironmentVariablesProvider(environmentVariables: variables, secretsSpecifier: .specific(sensitive))
            .prefixKeys(with: "slotgate")
    }
}
