//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateCore
import SlotgateUpstream
import Synchronization

/// Everything the routes need: the gatekeeper, the platform client, the daemon's identity and metrics.
public struct APIContext: Sendable {
    /// The gatekeeper.
    public var gatekeeper: any SlotKeeper
    /// The platform, for the proxy; nil serves no `/api/v2/`.
    public var platform: AGPClient?
    /// The clock.
    public var clock: any TimestampClock
    /// The daemon's version.
    public var version: String
    /// This host's name.
    public var host: String
    /// `local` or `shared`.
    public var mode: String
    /// Set once the socket listens and the store is loaded.
    public var readiness: Readiness
    /// The metrics.
    public var metrics: SlotgateMetrics
    /// The logger.
    public var logger: Logger
    /// Every lease in the store, ended ones included, for `GET /v1/leases?all=1`; nil when leases are kept in memory
    /// only (the listing then shows what the gatekeeper retains).
    public var history: (@Sendable () async throws -> [Lease])?
    /// Who may change a lease (its owner, root, `socket.admin_group`).
    public var access = LeaseAccess()
    /// The platform routes the proxy forwards (`proxy.allow`).
    public var proxyAllow = ProxyRoutePattern.defaults
    /// Whose sessions a local user reaches through the proxy (`proxy.session_scope`).
    public var sessionScope = SessionScope.organization
    /// What the daemon talks to and its last reload, for `/v1/status`.
    public var facts = DaemonFacts(upstreamURL: "", simulated: false)

    /// Creates the context.
    /// - Parameters:
    ///   - gatekeeper: the gatekeeper.
    ///   - platform: the platform client for the proxy, or nil.
    ///   - clock: the clock.
    ///   - version: the daemon's version.
    ///   - host: this host's name.
    ///   - mode: `local` or `shared`.
    ///   - readiness: the readiness flag.
    ///   - metrics: the metrics.
    ///   - logger: the logger.
    public init(
        gatekeeper: any SlotKeeper,
        platform: AGPClient?,
        clock: any TimestampClock = WallClock(),
        version: String,
        host: String,
        mode: String = "local",
        readiness: Readiness = Readiness(),
        metrics: SlotgateMetrics = SlotgateMetrics(),
        logger: Logger
    ) {
        self.gatekeeper = gatekeeper
        self.platform = platform
        self.clock = clock
        self.version = version
        self.host = host
        self.mode = mode
        self.readiness = readiness
        self.metrics = metrics
        self.logger = logger
    }
}

/// Whether the daemon is ready: the socket listens and the store is loaded.
public final class Readiness: Sendable {
    private let flag = Atomic<Bool>(false)

    /// Creates a flag, not ready.
    public init() {}

    /// Whether the daemon is ready.
    public var isReady: Bool { flag.load(ordering: .acquiring) }

    /// Marks the daemon ready.
    public func markReady() { flag.store(true, ordering: .releasing) }
}
