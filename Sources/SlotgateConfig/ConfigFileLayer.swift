//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Configuration
import Foundation
import Yams

/// The YAML file as a provider, with its keys checked against the key list.
///
/// Keys may be nested (`upstream: {poll_interval_s: 2}`) or dotted (`upstream.poll_interval_s: 2`);
/// swift-configuration flattens both to the dotted key. A section left empty (`slots:` with every key
/// commented out, as in the packaged example) is no unknown key.
struct ConfigFileLayer {
    /// The file's path, for messages.
    let path: String
    /// The provider, or nil when the file has no keys.
    let provider: FileProvider<YAMLSnapshot>?
    /// The file's text, for the key check.
    var text = ""

    /// Reads the file.
    /// - Parameters:
    ///   - path: the file.
    ///   - explicit: true when `--config` named it: then a missing file is an error.
    /// - Returns: the layer, or nil when the default file does not exist.
    static func open(path: String, explicit: Bool) async throws(ConfigError) -> ConfigFileLayer? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            if explicit { throw ConfigError.missingConfigFile(path) }
            return nil
        }
        guard !isDirectory.boolValue else {
            throw ConfigError.unusableConfigFile(path, problem: "is a directory, not a YAML file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError.unusableConfigFile(path, problem: "cannot be read (check its permissions)")
        }
        guard hasContent(String(decoding: data, as: UTF8.self)) else {
            return ConfigFileLayer(path: path, provider: nil)
        }
        let provider: FileProvider<YAMLSnapshot>
        do {
            // `FileProvider` takes a `FilePath` (swift-system, not a product this target declares) or a reader
            // holding the path; the reader keeps the import list to the declared products.
            let location = ConfigReader(provider: InMemoryProvider(values: ["filePath": ConfigValue(.string(path), isSecret: false)]))
            // Every value is marked secret, so nothing the library logs (CONFIG_ACCESS_LOG_FILE) shows a value
            // from the file.
            provider = try await FileProvider<YAMLSnapshot>(parsingOptions: .init(secretsSpecifier: .all), config: location)
        } catch {
            throw ConfigError.unusableConfigFile(path, problem: "is not a valid YAML mapping of keys: \(error)")
        }
        let layer = ConfigFileLayer(path: path, provider: provider, text: String(decoding: data, as: UTF8.self))
        try layer.checkKeys()
        return layer
    }

    /// Whether the text has anything besides blank lines, comments and document markers.
    static func hasContent(_ text: String) -> Bool {
        text.split(whereSeparator: \.isNewline).contains { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#") && trimmed != "---" && trimmed != "..."
        }
    }

    /// Throws for the first key (in sorted order) that slotgate does not know.
    private func checkKeys() throws(ConfigError) {
        guard let provider else { return }
        let known = SettingKey.all.map(\.name)
        let sections = Set(SettingKey.all.flatMap { key in (1..<key.components.count).map { key.components.prefix($0).joined(separator: ".") } })
        guard let keys = Self.keys(inYAML: text) else {
            throw ConfigError.unusableConfigFile(path, problem: "is not a YAML mapping of keys")
        }
        for key in keys.sorted() where SettingKey.named(key) == nil {
            if sections.contains(key), Self.isNull(rawValue(of: key) ?? "") {
                continue
            }
            throw ConfigError.unknownFileKey(key, path: path, suggestion: KeySuggestion.nearest(to: key, among: known))
        }
    }

    /// The file's keys, dotted, from a walk of the YAML tree (nested mappings are joined with dots; a mapping
    /// key that is itself dotted stays as written). Nil when the text is not a YAML mapping.
    static func keys(inYAML text: String) -> [String]? {
        guard let node = try? Yams.compose(yaml: text) else { return nil }
        guard case .mapping(let mapping) = node else { return nil }
        var keys: [String] = []
        func walk(_ mapping: Node.Mapping, prefix: String) {
            for (key, value) in mapping {
                let name = prefix.isEmpty ? (key.string ?? "") : prefix + "." + (key.string ?? "")
                if case .mapping(let nested) = value, !nested.isEmpty {
                    walk(nested, prefix: name)
                } else {
                    keys.append(name)
                }
            }
        }
        walk(mapping, prefix: "")
        return keys
    }

    /// The text of a key's value as the file spells it, or nil when the file does not set it.
    func rawValue(of key: String) -> String? {
        let components = key.split(separator: ".").map(String.init)
        guard let result = try? provider?.value(forKey: AbsoluteConfigKey(components), type: .string),
            case .string(let text) = result.value?.content
        else { return nil }
        return text
    }

    /// YAML's spellings of null: an empty value, `~`, `null`.
    static func isNull(_ text: String) -> Bool {
        ["", "~", "null"].contains(text.lowercased())
    }
}
