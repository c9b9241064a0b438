//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOSSL
import PostgresNIO

/// `shared.postgres_url` read into the settings of the pool and of the dedicated connections (the poller claim,
/// LISTEN). `postgres://user:password@host:port/database?sslmode=disable|prefer|require`; libpq's default
/// `prefer` when `sslmode` is absent. The password never appears in a description.
public struct FleetDatabaseURL: Sendable, CustomStringConvertible {
    enum TLSMode: String, Sendable {
        case disable, prefer, require
    }

    let host: String
    let port: Int
    let username: String
    let password: String?
    let database: String?
    let tls: TLSMode

    /// Reads a URL; the error names `shared.postgres_url`.
    /// - Parameter text: the URL.
    /// - Parameter passwordFile: read for the password when the URL has none (a systemd credential).
    public init(_ text: String, passwordFile: String? = nil) throws(FleetURLError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql",
            let host = url.host, !host.isEmpty
        else { throw FleetURLError("shared.postgres_url must be postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE") }
        self.host = host
        port = url.port ?? 5432
        username = url.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        password =
            url.password.flatMap { $0.removingPercentEncoding }
            ?? passwordFile.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }?.trimmingCharacters(in: .whitespacesAndNewlines)
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        database = path.isEmpty ? nil : path
        let mode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
        guard let tls = TLSMode(rawValue: mode) else {
            throw FleetURLError("shared.postgres_url: sslmode must be disable, prefer or require, not '\(mode)'")
        }
        self.tls = tls
    }

    public var description: String { "postgres://\(username)@\(host):\(port)/\(database ?? "")" }

    /// The pool's configuration.
    public func clientConfiguration() -> PostgresClient.Configuration {
        let tlsSetting: PostgresClient.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tlsSetting
        )
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 8
        return configuration
    }

    /// A dedicated connection's configuration, with an `application_name`.
    /// - Parameter applicationName: the name the server shows for it.
    public func connectionConfiguration(applicationName: String) throws -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: tlsSetting
        )
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        return configuration
    }
}

/// `shared.postgres_url` cannot be used.
public struct FleetURLError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
