//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateConfig

/// Fixed host facts, so `shared.host_id` is predictable.
let testHost = HostFacts(hostname: "box", machineID: "0123456789abcdef\n")

/// A path under the temporary directory that does not exist.
func missingPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("slotgate-missing-\(UUID().uuidString).yaml").path
}

/// A fresh temporary directory, removed by `body`'s caller through `removeItem`.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("slotgate-config-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `text` to a temporary file and runs `body` with its path; the file is removed afterwards.
func withFile<T>(_ text: String, name: String = "slotgate.yaml", _ body: (String) async throws -> T) async throws -> T {
    let directory = try makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent(name).path
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return try await body(path)
}

/// Loads settings with an optional YAML file (given with `--config`), an explicit environment and flags.
/// Without a file the default path points at a file that does not exist.
func load(
    yaml: String? = nil,
    environment: [String: String] = [:],
    overrides: CommandLineOverrides = CommandLineOverrides()
) async throws -> SlotgateSettings {
    guard let yaml else {
        return try await SettingsLoader(overrides: overrides, environment: environment, host: testHost, defaultConfigPath: missingPath())
            .load()
    }
    return try await withFile(yaml) { path in
        var overrides = overrides
        overrides.configPath = path
        return try await SettingsLoader(overrides: overrides, environment: environment, host: testHost, defaultConfigPath: missingPath())
            .load()
    }
}

/// Loads like `load` and returns the error it must throw, with the file's path for checking messages.
func loadError(
    yaml: String? = nil,
    environment: [String: String] = [:],
    overrides: CommandLineOverrides = CommandLineOverrides()
) async -> (error: ConfigError?, path: String?) {
    func attempt(_ overrides: CommandLineOverrides) async -> ConfigError? {
        do {
            _ = try await SettingsLoader(overrides: overrides, environment: environment, host: testHost, defaultConfigPath: missingPath()).load()
            return nil
        } catch {
            return error
        }
    }
    guard let yaml else {
        return (await attempt(overrides), nil)
    }
    do {
        return try await withFile(yaml) { path in
            var overrides = overrides
            overrides.configPath = path
            return (await attempt(overrides), path)
        }
    } catch {
        return (nil, nil)
    }
}
