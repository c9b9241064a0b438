//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateCore

/// The daemon's settings: every key of design.md "Configuration keys", typed and validated.
///
/// Build it with ``SettingsLoader``, which reads the layers (defaults, YAML file, `SLOTGATE_*`
/// environment, flags) and checks every value. ``init()`` gives the built-in defaults without
/// looking at the environment, for tests. The API key is not a setting (see ``APIKey``).
public struct SlotgateSettings: Sendable, Hashable {
    /// `upstream.url`: the platform's base URL, http or https, without a trailing slash.
    public var upstreamURL: URL
    /// `upstream.poll_interval_s`: poll interval while anyone waits or a lease is unbound.
    public var pollInterval: Duration
    /// `upstream.idle_poll_interval_s`: poll interval when idle; at least ``pollInterval``.
    public var idlePollInterval: Duration
    /// `upstream.timeout_s`: how long one platform request may take.
    public var upstreamTimeout: Duration
    /// `upstream.max_staleness_s`: older quota readings pause grants; longer than ``idlePollInterval``.
    public var maxStaleness: Duration
    /// `upstream.simulate`: run the built-in platform simulator instead of the platform (no API key needed).
    public var simulate: Bool
    /// `upstream.simulate_limit`: the simulator's concurrent-session limit.
    public var simulateLimit: Int
    /// `upstream.simulate_run_s`: how long a simulated session runs before it ends on its own, drawn per session.
    public var simulateRun: ClosedRange<Duration>
    /// `socket.path`: the local API's Unix socket.
    public var socketPath: String
    /// `socket.mode`: the socket file's permission bits (0o000...0o777).
    public var socketMode: Int
    /// `socket.group`: the group that owns the socket; nil leaves the daemon's own group.
    public var socketGroup: String?
    /// `socket.admin_group`: the group whose members may change any uid's lease; nil leaves that to root.
    public var socketAdminGroup: String?
    /// `socket.max_connections_per_uid`: open connections of one uid; nil is auto (``connectionsPerUID(openFileLimit:)``).
    public var maxConnectionsPerUID: Int?
    /// `proxy.allow`: the platform routes the proxy forwards.
    public var proxyAllow: [ProxyRoutePattern]
    /// `proxy.session_scope`: whose sessions a local user reaches through the proxy.
    public var sessionScope: SessionScope
    /// `slots.max`: a cap below the platform's limit; nil means none.
    public var slotsMax: Int?
    /// `slots.reserve`: slots left free for people and tools outside slotgate.
    public var slotsReserve: Int
    /// `leases.claim_ttl_s`: life of an unbound lease without renewal.
    public var claimTTL: Duration
    /// `leases.retention_h`: how long ended leases stay in the ledger.
    public var leaseRetention: Duration
    /// `queue.default_wait_s`: the wait of a request that names none.
    public var defaultWait: Duration
    /// `queue.max_waiters`: beyond this many waiters, 503 `queue_full`.
    public var maxWaiters: Int
    /// `queue.max_per_holder`: leases plus waiters of one holder; 0 means no cap.
    public var maxPerHolder: Int
    /// `queue.max_per_uid`: leases plus waiters of one uid; 0 means no cap.
    public var maxPerUID: Int
    /// `queue.max_connections`: open connections to the local API.
    public var maxConnections: Int
    /// `tokens.min_remaining`: pause grants below this many tokens left; 0 is off.
    public var tokensMinRemaining: Int
    /// `state.dir`: the directory of the lease ledger.
    public var stateDirectory: String
    /// `state.fsync`: whether a grant, bind or renewal waits for an fsync of the ledger before it is answered.
    public var stateFsync: Bool
    /// `shared.postgres_url`: the fleet's PostgreSQL URL; nil is local mode. It may hold a password:
    /// ``description`` redacts it, and code that logs it must too.
    public var postgresURL: String?
    /// `shared.fallback_share`: slots this host may use while the database is unreachable.
    public var fallbackShare: Int
    /// `shared.host_id`: this host's name in the fleet.
    public var hostID: String
    /// `metrics.listen`: the TCP address of `/metrics` and `/healthz` (any address; the daemon warns unless it is
    /// loopback); nil is off.
    public var metricsListen: ListenAddress?
    /// `log.level`: the log level.
    public var logLevel: Logger.Level
    /// `log.format`: how log lines are written outside journald.
    public var logFormat: LogFormat

    /// The base URL of the platform in production.
    public static let defaultUpstreamURL = "https://agp.eu.hcompany.ai/api/v2"

    /// Creates the built-in defaults of design.md, without reading the environment.
    ///
    /// `state.dir` is `/var/lib/slotgate` and `shared.host_id` is `localhost` here; ``SettingsLoader``
    /// derives both from `$STATE_DIRECTORY` and the host.
    public init() {
        // The literal is a constant URL; `URL(string:)` only fails on malformed text.
        self.upstreamURL = URL(string: Self.defaultUpstreamURL) ?? URL(fileURLWithPath: "/")
        self.pollInterval = .seconds(2)
        self.idlePollInterval = .seconds(30)
        self.upstreamTimeout = .seconds(10)
        self.maxStaleness = .seconds(60)
        self.simulate = false
        self.simulateLimit = 3
        self.simulateRun = .seconds(30)...(.seconds(180))
        self.socketPath = "/run/slotgate/slotgate.sock"
        self.socketMode = 0o660
        self.socketGroup = nil
        self.socketAdminGroup = nil
        self.proxyAllow = ProxyRoutePattern.defaults
        self.slotsMax = nil
        self.slotsReserve = 0
        self.claimTTL = .seconds(60)
        self.leaseRetention = .seconds(24 * 3600)
        self.defaultWait = .seconds(300)
        self.maxWaiters = 10_000
        self.maxPerHolder = 0
        self.maxConnections = 16_384
        self.maxConnectionsPerUID = nil
        self.sessionScope = .organization
        self.maxPerUID = 0
        self.tokensMinRemaining = 0
        self.stateDirectory = "/var/lib/slotgate"
        self.stateFsync = false
        self.postgresURL = nil
        self.fallbackShare = 0
        self.hostID = "localhost"
        self.metricsListen = nil
        self.logLevel = .info
        self.logFormat = .text
    }

    /// The documented list of keys (key, default, meaning, reload behaviour), in design.md's order.
    public static var keyReference: [SettingKey] { SettingKey.all }

    /// The built-in defaults as the loader uses them: `state.dir` from `$STATE_DIRECTORY` (its first path
    /// when it lists several) else `/var/lib/slotgate`, and `shared.host_id` from the host.
    /// - Parameters:
    ///   - environment: the process environment; only `STATE_DIRECTORY` is read.
    ///   - host: the host's name and machine id.
    /// - Returns: the defaults.
    public static func defaults(environment: [String: String], host: HostFacts) -> SlotgateSettings {
        var settings = SlotgateSettings()
        let stateDirectories = (environment["STATE_DIRECTORY"] ?? "").split(separator: ":")
        if let first = stateDirectories.first(where: { !$0.isEmpty }) {
            settings.stateDirectory = String(first)
        }
        settings.hostID = host.defaultHostID
        return settings
    }
}

/// How the daemon writes its log outside journald (`log.format`); under journald every entry is structured.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One line per event: RFC 3339 time, level, message, `key=value` metadata.
    case text
    /// One JSON object per line: `time`, `level`, `message`, `logger` and the metadata keys.
    case json
}
