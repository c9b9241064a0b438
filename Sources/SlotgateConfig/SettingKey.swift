//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One configuration key, documented once: its name, default, meaning and whether a reload applies it.
///
/// ``SlotgateSettings/keyReference`` lists every key in design.md's order. The unknown-key check, the
/// error messages, the environment variable names and the generated README table all come from it.
public struct SettingKey: Sendable, Hashable, CustomStringConvertible {
    /// Every key the daemon knows. The raw value is the dotted key of the YAML file.
    enum ID: String, CaseIterable, Sendable {
        case upstreamURL = "upstream.url"
        case pollInterval = "upstream.poll_interval_s"
        case idlePollInterval = "upstream.idle_poll_interval_s"
        case upstreamTimeout = "upstream.timeout_s"
        case maxStaleness = "upstream.max_staleness_s"
        case simulate = "upstream.simulate"
        case simulateLimit = "upstream.simulate_limit"
        case simulateRun = "upstream.simulate_run_s"
        case socketPath = "socket.path"
        case socketMode = "socket.mode"
        case socketGroup = "socket.group"
        case socketAdminGroup = "socket.admin_group"
        case maxConnectionsPerUID = "socket.max_connections_per_uid"
        case proxyAllow = "proxy.allow"
        case sessionScope = "proxy.session_scope"
        case slotsMax = "slots.max"
        case slotsReserve = "slots.reserve"
        case claimTTL = "leases.claim_ttl_s"
        case leaseRetention = "leases.retention_h"
        case defaultWait = "queue.default_wait_s"
        case maxWaiters = "queue.max_waiters"
        case maxPerHolder = "queue.max_per_holder"
        case maxPerUID = "queue.max_per_uid"
        case maxConnections = "queue.max_connections"
        case tokensMinRemaining = "tokens.min_remaining"
        case stateDirectory = "state.dir"
        case stateFsync = "state.fsync"
        case postgresURL = "shared.postgres_url"
        case fallbackShare = "shared.fallback_share"
        case hostID = "shared.host_id"
        case metricsListen = "metrics.listen"
        case logLevel = "log.level"
        case logFormat = "log.format"
    }

    let id: ID

    init(_ id: ID) {
        self.id = id
    }

    /// Every key, in design.md's order.
    public static let all: [SettingKey] = ID.allCases.map(SettingKey.init)

    /// Looks a key up by its dotted name.
    /// - Parameter name: the dotted key, such as `slots.max`.
    /// - Returns: the key, or nil when slotgate has no such key.
    public static func named(_ name: String) -> SettingKey? {
        ID(rawValue: name).map(SettingKey.init)
    }

    /// The dotted key, as the YAML file spells it (`upstream.poll_interval_s`).
    public var name: String { id.rawValue }

    /// The key's path in the YAML file: `["upstream", "poll_interval_s"]`.
    public var components: [String] { name.split(separator: ".").map(String.init) }

    /// The environment variable that sets the key: `SLOTGATE_` plus the key in capitals, dots as underscores.
    public var environmentVariable: String {
        "SLOTGATE_" + name.uppercased().replacingDots()
    }

    /// Other names that set the key: a command-line flag or a second environment variable.
    public var aliases: [String] {
        switch id {
        case .socketPath: ["--socket", "SLOTGATE_SOCKET"]
        case .stateDirectory: ["--state-dir"]
        case .logLevel: ["--log-level"]
        default: []
        }
    }

    /// The default, as an operator reads it.
    public var documentedDefault: String {
        switch id {
        case .upstreamURL: "https://agp.eu.hcompany.ai/api/v2"
        case .pollInterval: "2"
        case .idlePollInterval: "30"
        case .upstreamTimeout: "10"
        case .maxStaleness: "60"
        case .simulate: "false"
        case .simulateLimit: "3"
        case .simulateRun: "30-180"
        case .socketPath: "/run/slotgate/slotgate.sock"
        case .socketMode: "0660"
        case .socketGroup: "empty (the daemon's group)"
        case .socketAdminGroup: "empty (root only)"
        case .maxConnectionsPerUID: "auto (a quarter of the smaller of queue.max_connections and the open-file limit)"
        case .proxyAllow: "* /api/v2/sessions, * /api/v2/sessions/**, * /api/v2/quota/**"
        case .sessionScope: "organization"
        case .slotsMax: "none"
        case .slotsReserve: "0"
        case .claimTTL: "60"
        case .leaseRetention: "24"
        case .defaultWait: "300"
        case .maxWaiters: "10000"
        case .maxPerHolder: "0 (no cap)"
        case .maxPerUID: "0 (no cap)"
        case .maxConnections: "16384"
        case .tokensMinRemaining: "0 (off)"
        case .stateDirectory: "$STATE_DIRECTORY or /var/lib/slotgate"
        case .stateFsync: "false"
        case .postgresURL: "empty (local mode)"
        case .fallbackShare: "0"
        case .hostID: "hostname + \"-\" + the first 8 characters of /etc/machine-id"
        case .metricsListen: "empty (off)"
        case .logLevel: "info"
        case .logFormat: "text"
        }
    }

    /// What the key does, with its unit and allowed range.
    public var meaning: String {
        switch id {
        case .upstreamURL: "platform base URL (http or https)"
        case .pollInterval: "seconds between polls while anyone waits or a lease is unbound (> 0)"
        case .idlePollInterval: "seconds between polls when idle (at least upstream.poll_interval_s)"
        case .upstreamTimeout: "seconds one platform request may take (> 0)"
        case .maxStaleness: "quota readings older than this many seconds pause grants (must exceed upstream.idle_poll_interval_s)"
        case .simulate: "run the built-in platform simulator instead of the platform; needs no API key (the demo uses it)"
        case .simulateLimit: "the simulator's concurrent-session limit (≥ 1)"
        case .simulateRun: "seconds a simulated session runs before it ends on its own: a number, or MIN-MAX drawn per session"
        case .socketPath: "the local API's Unix socket"
        case .socketMode: "permissions of the socket file, in octal (at most 0777)"
        case .socketGroup: "group that owns the socket; it must exist"
        case .socketAdminGroup: "group whose members may bind, renew and release any uid's lease; it must exist"
        case .maxConnectionsPerUID: "open connections of one uid; more get 503 too_many_connections (≥ 1, or auto)"
        case .proxyAllow: "platform routes the proxy forwards: METHOD /api/v2/path entries, * and ** globs; others get 403"
        case .sessionScope: "organization (any session) or uid (sessions the caller's uid created through the daemon; admins all)"
        case .slotsMax: "cap below the platform's limit (≥ 1)"
        case .slotsReserve: "slots left free for people and tools outside slotgate (below slots.max)"
        case .claimTTL: "seconds an unbound lease lives without renewal (1..3600)"
        case .leaseRetention: "hours ended leases stay in the ledger (at least 10 minutes' worth)"
        case .defaultWait: "seconds a request waits when it names no wait (0..86400)"
        case .maxWaiters: "waiters beyond this many get 503 queue_full (≥ 1)"
        case .maxPerHolder: "leases plus waiters of one holder; 0 is no cap"
        case .maxPerUID: "leases plus waiters of one uid, all its holders together; 0 is no cap"
        case .maxConnections: "open connections to the local API (≥ 1)"
        case .tokensMinRemaining: "pause grants below this many tokens left; 0 is off"
        case .stateDirectory: "directory of the lease ledger; one daemon at a time uses it (slotgated.lock)"
        case .stateFsync: "answer a grant, bind or renewal once the ledger is fsync'd (true) or once the OS has it (false)"
        case .postgresURL: "PostgreSQL connection URL for a fleet (postgres:// or postgresql://)"
        case .fallbackShare: "slots this host may use while the database is unreachable"
        case .hostID: "this host's name in the fleet; two daemons on one machine must set it"
        case .metricsListen: "the TCP address (host:port) serving /metrics and /healthz, without authentication; warned about unless loopback"
        case .logLevel: "trace, debug, info, notice, warning, error or critical"
        case .logFormat: "text (one line per event, RFC 3339 time first) or json (one object per line), outside journald"
        }
    }

    /// Whether a reload (SIGHUP) applies a change of this key; false means the change waits for a restart.
    ///
    /// Live: `slots.*`, `queue.*` except `queue.max_connections`, `leases.*`, `tokens.*`, the upstream poll
    /// intervals, timeout and staleness, `log.level` and `log.format`. Restart only: `socket.*`, `state.*`, `shared.*`,
    /// `metrics.listen`, `upstream.url`, `upstream.simulate*` and `queue.max_connections` (the listener's
    /// connection bound is fixed when it starts).
    public var appliesOnReload: Bool {
        switch id {
        case .pollInterval, .idlePollInterval, .upstreamTimeout, .maxStaleness,
            .slotsMax, .slotsReserve, .claimTTL, .leaseRetention,
            .defaultWait, .maxWaiters, .maxPerHolder, .maxPerUID, .tokensMinRemaining, .logLevel, .logFormat:
            true
        case .upstreamURL, .simulate, .simulateLimit, .simulateRun, .socketPath, .socketMode, .socketGroup, .socketAdminGroup, .proxyAllow,
            .sessionScope, .maxConnectionsPerUID, .maxConnections, .stateDirectory, .stateFsync, .postgresURL, .fallbackShare, .hostID,
            .metricsListen:
            false
        }
    }

    /// Whether the value is a list: a YAML sequence in the file, one line with commas elsewhere.
    public var isList: Bool {
        id == .proxyAllow
    }

    /// Whether the value may hold a credential, so errors and descriptions never show it.
    public var isSensitive: Bool {
        id == .postgresURL
    }

    /// The dotted key.
    public var description: String { name }
}

extension String {
    fileprivate func replacingDots() -> String {
        String(map { $0 == "." ? "_" : $0 })
    }
}
