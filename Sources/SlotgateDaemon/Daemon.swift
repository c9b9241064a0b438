//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AGPSimulator
import AsyncHTTPClient
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import SlotgateConfig
import SlotgateCore
import SlotgateFleet
import SlotgateServer
import SlotgateStore
import SlotgateSystemd
import SlotgateUpstream
import Synchronization
import UnixSignals

/// `slotgated`: reads its settings, then runs the gatekeeper, the poller and the local API in one service group
/// until SIGTERM or SIGINT. SIGHUP re-reads the settings.
public struct Daemon: Sendable {
    /// The daemon's version.
    public static let version = "0.1.0"

    /// Why the daemon could not start; the message names the key, file or socket to fix.
    public struct StartError: Error, CustomStringConvertible {
        /// One or two sentences for the operator.
        public let description: String
        /// The process exit code, from sysexits.h: 78 (EX_CONFIG) for the configuration, 77 (EX_NOPERM) when the
        /// daemon's user may not use a file or directory, 73 (EX_CANTCREAT) when the socket cannot be made, 69
        /// (EX_UNAVAILABLE) otherwise (another daemon, an address in use, a ledger that cannot be opened).
        public let exitCode: Int32

        init(description: String, exitCode: Int32) {
            self.description = description
            self.exitCode = exitCode
        }

        /// The start error for a state directory or ledger problem: 77 for permission denied, else 69.
        init(_ error: StoreError) {
            self.init(description: error.description, exitCode: error.isPermissionDenied ? 77 : 69)
        }
    }

    /// The flags.
    public var overrides: CommandLineOverrides
    /// The process environment.
    public var environment: [String: String]
    /// `--reset-state`: a ledger that cannot be opened (corrupt, unreadable, newer schema) is moved aside and the
    /// daemon starts with no leases, instead of refusing to start. Never while another daemon holds the state
    /// directory: the lock is taken first, and that start is refused before the ledger is looked at.
    public var resetState = false

    /// Creates a daemon.
    /// - Parameters:
    ///   - overrides: the flags.
    ///   - environment: the process environment.
    public init(overrides: CommandLineOverrides, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.overrides = overrides
        self.environment = environment
    }

    /// Loads the settings and runs until shutdown.
    /// - Parameter onReady: called once the socket listens (tests and the demo use it).
    /// What a start checks before it changes anything: the settings, the API key and the socket's groups.
    struct Checked {
        var settings: SlotgateSettings
        var loader: SettingsLoader
        var key: SlotgateConfig.APIKey?
        var socketGroup: UInt32?
    }

    /// Checks the configuration exactly as a start does, and changes nothing (`slotgated --check-config`).
    /// - Returns: the settings a start would run with.
    /// - Throws: ``StartError`` (exit 78) naming the key or the file.
    public func checkConfiguration() async throws -> SlotgateSettings {
        try await check().settings
    }

    private func check() async throws -> Checked {
        let loader = SettingsLoader(overrides: overrides, environment: environment)
        let settings: SlotgateSettings
        do {
            settings = try await loader.load()
        } catch {
            throw StartError(description: error.description, exitCode: 78)
        }
        let key: SlotgateConfig.APIKey?
        do {
            key = try SlotgateConfig.APIKey.load(environment: environment, required: !settings.simulate)
        } catch {
            throw StartError(description: error.description, exitCode: 78)
        }
        var socketGroup: UInt32?
        if let name = settings.socketGroup {
            guard let id = UnixSocketFile.groupID(named: name) else {
                throw StartError(description: "socket.group: there is no group named \"\(name)\"; create it or change the key.", exitCode: 78)
            }
            socketGroup = id
        }
        if let name = settings.socketAdminGroup, UnixSocketFile.groupID(named: name) == nil {
            throw StartError(description: "socket.admin_group: there is no group named \"\(name)\"; create it or change the key.", exitCode: 78)
        }
        return Checked(settings: settings, loader: loader, key: key, socketGroup: socketGroup)
    }

    public func run(onReady: @escaping @Sendable (SlotgateSettings) async -> Void = { _ in }) async throws {
        let checked = try await check()
        let (settings, loader, key, socketGroup) = (checked.settings, checked.loader, checked.key, checked.socketGroup)
        DaemonLogHandler.sharedLevel.store(settings.logLevel.rank, ordering: .relaxed)
        DaemonLogHandler.writesJSON.store(settings.logFormat == .json, ordering: .relaxed)
        var logger = Logger(label: "slotgated")
        logger[metadataKey: "host"] = "\(settings.hostID)"
        if let key { logger.info("using the \(key)") }
        let group = socketGroup
        let startLogger = logger

        if settings.simulate {
            logger.notice("upstream.simulate is on: serving the built-in platform simulator, not the real platform")
            var configuration = SimulatorConfiguration()
            configuration.limit = settings.simulateLimit
            configuration.apiKeys = []
            // Like the platform: a run ends on its own (mostly completed, sometimes failed or timed out) after
            // upstream.simulate_run_s, and consumes tokens while it runs, so the token quota moves.
            configuration.runDuration = settings.simulateRun
            configuration.endStatuses = Self.simulatedEndStatuses
            configuration.tokensPerSecond = Self.simulatedTokensPerSecond
            let platform = SimulatedPlatform(configuration: configuration)
            try await SimulatorServer.withRunning(platform) { baseURL in
                try await self.serve(
                    settings: settings,
                    loader: loader,
                    baseURL: baseURL,
                    key: nil,
                    group: group,
                    logger: startLogger,
                    onReady: onReady
                )
            }
        } else {
            try await serve(
                settings: settings,
                loader: loader,
                baseURL: settings.upstreamURL.absoluteString,
                key: key,
                group: group,
                logger: logger,
                onReady: onReady
            )
        }
    }

    // swift-format-ignore: FunctionParameterCount
    private func serve(
        settings: SlotgateSettings,
        loader: SettingsLoader,
        baseURL: String,
        key: SlotgateConfig.APIKey?,
        group socketGroup: UInt32?,
        logger: Logger,
        onReady: @escaping @Sendable (SlotgateSettings) async -> Void
    ) async throws {
        let sharedMode = !(settings.postgresURL ?? "").isEmpty
        let metrics = SlotgateMetrics(sharedMode: sharedMode)
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            var clientConfiguration = AGPClientConfiguration(
                baseURL: baseURL,
                apiKey: key.flatMap { SlotgateUpstream.APIKey($0.secret.reveal()) },
                requestTimeout: settings.upstreamTimeout
            )
            clientConfiguration.onAnswer = { route, status in metrics.upstreamAnswered(route: route, status: status) }
            let platform = AGPClient(configuration: clientConfiguration, httpClient: httpClient, logger: logger)
            let context = ServeContext(
                settings: settings,
                loader: loader,
                baseURL: baseURL,
                group: socketGroup,
                logger: logger,
                metrics: metrics,
                platform: platform
            )
            if let fleet = try Self.fleetDatabase(settings) {
                // Shared mode: the fleet's state lives in PostgreSQL; no local ledger.
                let client = PostgresClient(configuration: fleet.clientConfiguration(), backgroundLogger: logger)
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { await client.run() }
                    try await Self.migrateFleet(client, url: fleet, logger: logger)
                    let store = PostgresSharedStore(client: client, host: settings.hostID, logger: logger) { statements in
                        metrics.fleetDecision(statements: statements)
                    }
                    let gatekeeper = Gatekeeper(
                        settings: settings.gatekeeper,
                        host: settings.hostID,
                        probe: platform,
                        logger: logger,
                        shared: store,
                        fallbackShare: settings.fallbackShare
                    )
                    let pollerSettings = Self.pollerSettings(settings)
                    let member = FleetMember(
                        gatekeeper: gatekeeper,
                        store: store,
                        url: fleet,
                        host: settings.hostID,
                        fallbackShare: settings.fallbackShare,
                        retention: settings.leaseRetention,
                        makePoller: { work, hosts in
                            var share = pollerSettings
                            share.fastInterval = share.fastInterval * hosts
                            share.idleInterval = share.idleInterval * hosts
                            return UpstreamPoller(
                                client: platform,
                                observer: gatekeeper,
                                work: work,
                                settings: share,
                                clock: WallClock(),
                                logger: logger
                            )
                        },
                        logger: logger
                    )
                    try await runServices(
                        gatekeeper: gatekeeper,
                        platformServices: [member],
                        poller: nil,
                        history: nil,
                        mode: "shared",
                        context: context,
                        onReady: onReady
                    )
                    group.cancelAll()
                }
            } else {
                // One daemon per state directory (issue 12): locked before anything in it is opened; released when
                // the services have stopped and the ledger is flushed (the defers run in reverse order).
                let stateLock = try lockStateDirectory(settings: settings, logger: logger)
                defer { stateLock.release() }
                var context = context
                context.stateLock = stateLock
                // The lease ledger (issue 5): opened, pruned and loaded before the gatekeeper exists, so the socket
                // (and READY) come only after the load. See Daemon+Ledger.swift.
                let ledger = try await openLedger(settings: settings, logger: logger) { _ in metrics.ledgerWriteFailed() }
                let gatekeeper = Gatekeeper(
                    settings: settings.gatekeeper,
                    host: settings.hostID,
                    persistence: ledger.store,
                    restoring: ledger.leases,
                    probe: platform,
                    logger: logger
                )
                let poller = UpstreamPoller(
                    client: platform,
                    observer: gatekeeper,
                    work: gatekeeper.upstreamWork,
                    settings: Self.pollerSettings(settings),
                    clock: WallClock(),
                    logger: logger
                )
                defer { ledger.store.flush() }
                try await runServices(
                    gatekeeper: gatekeeper,
                    platformServices: [poller],
                    poller: poller,
                    history: ledger.history,
                    mode: "local",
                    context: context,
                    onReady: onReady
                )
            }
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
        try await httpClient.shutdown()
    }

    /// What `runServices` needs besides the gatekeeper.
    struct ServeContext: Sendable {
        var settings: SlotgateSettings
        var loader: SettingsLoader
        var baseURL: String
        var group: UInt32?
        var logger: Logger
        var metrics: SlotgateMetrics
        var platform: AGPClient
        /// The state directory's lock in local mode, whose record names the socket actually served.
        var stateLock: StateDirectoryLock?
    }

    /// Runs the API server, the platform work, the reloads and the service manager's status in one group until
    /// a signal stops it.
    // swift-format-ignore: FunctionParameterCount
    private func runServices(
        gatekeeper: Gatekeeper,
        platformServices: [any Service],
        poller: UpstreamPoller?,
        history: (@Sendable () async throws -> [Lease])?,
        mode: String,
        context: ServeContext,
        onReady: @escaping @Sendable (SlotgateSettings) async -> Void
    ) async throws {
        let settings = context.settings
        let logger = context.logger
        let metrics = context.metrics
        let platform = context.platform
        let socketGroup = context.group
        let loader = context.loader
        let baseURL = context.baseURL
        let notifier = SystemdNotifier.fromEnvironment()
        await Self.startWatchdog(on: gatekeeper, notifier: notifier, logger: logger)
        // Trapped before the group starts, so SIGHUP cannot kill the daemon once READY=1 is sent.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let readiness = Readiness()
        var api = APIContext(
            gatekeeper: gatekeeper,
            platform: platform,
            version: Self.version,
            host: settings.hostID,
            mode: mode,
            readiness: readiness,
            metrics: metrics,
            logger: logger
        )
        api.history = history
        api.proxyAllow = settings.proxyAllow
        api.sessionScope = settings.sessionScope
        api.facts = DaemonFacts(upstreamURL: settings.simulate ? baseURL : settings.upstreamURLText, simulated: settings.simulate)
        api.access = LeaseAccess(adminGroup: settings.socketAdminGroup.flatMap(UnixSocketFile.groupID(named:)))
        let inherited = try Self.inheritedListeningSocket(logger: logger)
        // What would fail once the services run is checked first, so that nothing listens (and no socket file is
        // left) when the start cannot complete.
        if inherited == nil { try Self.checkSocketDirectory(settings.socketPath) }
        if let address = settings.metricsListen { try Self.checkMetricsAddress(address) }
        if let stateLock = context.stateLock, let path = inherited?.path, path != settings.socketPath {
            // systemd's socket (ListenStream=) is the one served, whatever socket.path says.
            do {
                try stateLock.record(socketPath: path)
            } catch {
                logger.warning("the state directory's lock file does not name the socket", metadata: ["reason": "\(error)"])
            }
        }
        let listener = APIListenerOptions(
            socketPath: settings.socketPath,
            socketMode: UInt32(settings.socketMode),
            socketGroup: socketGroup,
            maxConnections: settings.maxConnections,
            maxConnectionsPerUID: settings.connectionsPerUID(openFileLimit: Self.openFileLimit()),
            inheritedFileDescriptor: inherited?.fileDescriptor
        )
        let server: any Service
        do {
            server = try makeAPIServer(api, options: listener) {
                readiness.markReady()
                notifier.ready(status: notifier.isListening ? await gatekeeper.status().serviceManagerLine : nil)
                await onReady(settings)
            }
        } catch {
            throw StartError(description: String(describing: error), exitCode: 69)
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = platformServices.map { .init(service: $0) } + [.init(service: server)]
        if let address = settings.metricsListen {
            if !address.isLoopback {
                // Only /metrics and /healthz are served there, but without authentication: the slot counts, the
                // queue and the platform routes called are visible to anyone who can reach the port.
                logger.warning(
                    "metrics.listen is not a loopback address: /metrics and /healthz answer anyone who can reach it, without authentication",
                    metadata: ["key": "metrics.listen", "address": "\(address)"]
                )
            }
            services.append(.init(service: makeMetricsServer(api, host: address.host, port: address.port)))
        }
        // The gatekeeper comes after the servers: it shuts down first and answers every parked request
        // `shutting_down`, so the servers' own graceful shutdown does not wait on long-polls.
        services.append(.init(service: gatekeeper))
        let statusReporter = notifier.isListening ? ServiceManagerStatus(notifier: notifier, gatekeeper: gatekeeper) : nil
        let reload = ReloadService(
            loader: loader,
            running: settings,
            gatekeeper: gatekeeper,
            poller: poller,
            logger: logger,
            hangups: hangups,
            notifier: notifier,
            status: statusReporter,
            facts: api.facts
        )
        services.append(.init(service: reload))
        // Last: it hears of a graceful shutdown first and sends STOPPING=1 at once.
        if let statusReporter { services.append(.init(service: statusReporter)) }
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(5)
        configuration.cancellationSignals = [.sigquit]
        logger.info("starting", metadata: ["socket": "\(settings.socketPath)", "upstream": "\(baseURL)", "version": "\(Self.version)"])
        try await ServiceGroup(configuration: configuration).run()
        logger.info("stopped")
    }

    /// The terminal statuses a simulated run ends in, one drawn per run: mostly `completed`, now and then
    /// `failed` or `timed_out` (agp-api.md §3), so clients see every ending the platform gives.
    static let simulatedEndStatuses = ["completed", "completed", "completed", "completed", "completed", "completed", "failed", "timed_out"]

    /// Tokens a simulated session consumes per second while it runs: about one agent step (≈ 1,100 tokens,
    /// as the simulator's own usage figures count them) every 4–5 s. Three sessions at the default limit use the
    /// default 15 M monthly allowance in about 5.5 hours of continuous running.
    static let simulatedTokensPerSecond = 250

    static func pollerSettings(_ settings: SlotgateSettings) -> PollerSettings {
        PollerSettings(fastInterval: settings.pollInterval, idleInterval: settings.idlePollInterval)
    }
}

extension Daemon {
    /// The process's soft open-file limit (`LimitNOFILE=` under systemd), or nil when it is unlimited or unknown.
    static func openFileLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }
}
