//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The platform's API key and where it came from.
///
/// The key is read from the systemd credential `agp-api-key` (`$CREDENTIALS_DIRECTORY/agp-api-key`),
/// else from `SLOTGATE_API_KEY`, `H_API_KEY` or `HAI_API_KEY`, in that order. It is never a
/// config-file key. The value lives in a ``Secret``; nothing here ever renders it.
public struct APIKey: Sendable, Hashable, CustomStringConvertible {
    /// The key.
    public var secret: Secret
    /// Where it came from, for the start-up log: `credential agp-api-key (/run/credentials/…/agp-api-key)`
    /// or `environment variable H_API_KEY`.
    public var source: String

    /// The name of the systemd credential.
    public static let credentialName = "agp-api-key"
    /// The environment variables read when there is no credential, in order.
    public static let environmentVariables = ["SLOTGATE_API_KEY", "H_API_KEY", "HAI_API_KEY"]

    /// Creates an API key.
    /// - Parameters:
    ///   - secret: the key.
    ///   - source: where it came from.
    public init(secret: Secret, source: String) {
        self.secret = secret
        self.source = source
    }

    /// `API key from <source>`; never the key.
    public var description: String { "API key from \(source)" }

    /// Finds the API key.
    ///
    /// Leading and trailing white space (a credential file's final newline) is dropped. The first source
    /// that exists decides: an empty or malformed key there is an error naming the source, not a reason
    /// to try the next one.
    /// - Parameters:
    ///   - environment: the process environment (`CREDENTIALS_DIRECTORY` and the variables above).
    ///   - required: false when `upstream.simulate` is on: then a missing or unusable key is no error and
    ///     the result is nil.
    /// - Returns: the key, or nil when none is found and none is required.
    /// - Throws: ``ConfigError`` saying how to provide a key, or which source holds an unusable one.
    public static func load(environment: [String: String], required: Bool = true) throws(ConfigError) -> APIKey? {
        do throws(ConfigError) {
            if let key = try find(in: environment) {
                return key
            }
            if required {
                throw ConfigError.missingAPIKey()
            }
            return nil
        } catch {
            if required {
                throw error
            }
            return nil
        }
    }

    private static func find(in environment: [String: String]) throws(ConfigError) -> APIKey? {
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(credentialName).path
            if FileManager.default.fileExists(atPath: path) {
                let source = "credential \(credentialName) (\(path))"
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ConfigError.unusableAPIKey(source: source, problem: "cannot be read")
                }
                return try validated(String(decoding: data, as: UTF8.self), source: source)
            }
        }
        for name in environmentVariables {
            if let value = environment[name] {
                return try validated(value, source: "environment variable \(name)")
            }
        }
        return nil
    }

    private static func validated(_ raw: String, source: String) throws(ConfigError) -> APIKey {
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else {
            throw ConfigError.unusableAPIKey(source: source, problem: "is empty")
        }
        // The key goes into an HTTP header: white space or control characters inside it are a pasting mistake.
        guard value.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw ConfigError.unusableAPIKey(source: source, problem: "contains spaces, control or non-ASCII characters")
        }
        return APIKey(secret: Secret(value), source: source)
    }
}
