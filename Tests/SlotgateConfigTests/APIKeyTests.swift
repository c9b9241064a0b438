//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateConfig
import Testing

@Suite("API key: credential, then environment; never shown")
struct APIKeyTests {
    static let value = "sk-test-7f3a9c1e5b"

    /// Runs `body` with a credentials directory holding `agp-api-key` with `contents`.
    func withCredential<T>(_ contents: String, _ body: (String) throws -> T) throws -> T {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(contents.utf8).write(to: directory.appendingPathComponent("agp-api-key"))
        return try body(directory.path)
    }

    @Test("The credential file wins, with its trailing newline trimmed")
    func credential() throws {
        let key = try withCredential(Self.value + "\n") { directory in
            try APIKey.load(environment: ["CREDENTIALS_DIRECTORY": directory, "SLOTGATE_API_KEY": "other"])
        }
        #expect(key?.secret.reveal() == Self.value)
        #expect(key?.source.hasPrefix("credential agp-api-key (") == true)
    }

    @Test("Without a credential file the variables are read in order")
    func environmentOrder() throws {
        let empty = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let all = ["CREDENTIALS_DIRECTORY": empty.path, "SLOTGATE_API_KEY": "a1", "H_API_KEY": "b2", "HAI_API_KEY": "c3"]
        #expect(try APIKey.load(environment: all)?.secret.reveal() == "a1")
        #expect(try APIKey.load(environment: all)?.source == "environment variable SLOTGATE_API_KEY")
        #expect(try APIKey.load(environment: ["H_API_KEY": "b2", "HAI_API_KEY": "c3"])?.secret.reveal() == "b2")
        #expect(try APIKey.load(environment: ["HAI_API_KEY": "c3"])?.source == "environment variable HAI_API_KEY")
    }

    @Test("A missing key says how to provide one, unless the simulator runs")
    func missing() throws {
        let error = #expect(throws: ConfigError.self) { try APIKey.load(environment: ["PATH": "/bin"]) }
        let message = error?.description ?? ""
        #expect(message.contains("LoadCredential=agp-api-key:/etc/slotgate/agp-api-key"))
        #expect(message.contains("SLOTGATE_API_KEY") && message.contains("H_API_KEY") && message.contains("HAI_API_KEY"))
        #expect(message.contains("upstream.simulate"))
        #expect(try APIKey.load(environment: [:], required: false) == nil)
    }

    @Test("An empty or malformed key is an error naming its source, never showing the key")
    func unusable() throws {
        let empty = #expect(throws: ConfigError.self) { try APIKey.load(environment: ["H_API_KEY": "  "]) }
        #expect(empty?.description == "the API key in environment variable H_API_KEY is empty")
        let spaced = #expect(throws: ConfigError.self) { try APIKey.load(environment: ["SLOTGATE_API_KEY": "sk-te st"]) }
        #expect(spaced?.description.contains("SLOTGATE_API_KEY") == true)
        #expect(spaced?.description.contains("sk-te") == false)
        try withCredential("\n") { directory in
            let error = #expect(throws: ConfigError.self) {
                try APIKey.load(environment: ["CREDENTIALS_DIRECTORY": directory, "H_API_KEY": Self.value])
            }
            #expect(error?.description.contains("credential agp-api-key") == true)
            #expect(error?.description.contains(Self.value) == false)
        }
        #expect(try APIKey.load(environment: ["H_API_KEY": ""], required: false) == nil)
    }

    @Test("The key never appears in descriptions of the secret, the key, the settings or errors")
    func neverShown() async throws {
        let key = try #require(try APIKey.load(environment: ["SLOTGATE_API_KEY": Self.value]))
        var dumped = ""
        dump(key, to: &dumped)
        let renderings = [
            String(describing: key), String(reflecting: key), "\(key.secret)", String(reflecting: key.secret), dumped,
            String(describing: Mirror(reflecting: key.secret).children.map(\.value)),
        ]
        for rendering in renderings {
            #expect(!rendering.contains(Self.value), "\(rendering)")
        }
        #expect(String(describing: key.secret) == "<redacted>")
        let environment = ["SLOTGATE_API_KEY": Self.value, "SLOTGATE_SLOTS_MAX": "-1"]
        let (error, _) = await loadError(environment: environment)
        #expect(error?.description.contains(Self.value) == false)
        let settings = try await load(environment: ["SLOTGATE_API_KEY": Self.value, "H_API_KEY": Self.value])
        #expect(!String(describing: settings).contains(Self.value))
        #expect(!String(reflecting: settings).contains(Self.value))
        var dumpedSettings = ""
        dump(settings, to: &dumpedSettings)
        #expect(!dumpedSettings.contains(Self.value))
        let loader = SettingsLoader(environment: ["SLOTGATE_API_KEY": Self.value, "H_API_KEY": Self.value, "HAI_API_KEY": Self.value])
        var dumpedLoader = ""
        dump(loader, to: &dumpedLoader)
        #expect(!String(describing: loader).contains(Self.value) && !dumpedLoader.contains(Self.value))
    }
}
