//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateConfig
import SlotgateCore
import Testing

@Suite("Layers: defaults, file, environment, flags")
struct SettingsLoaderTests {
    @Test("Without a file, environment or flags the defaults of design.md hold")
    func defaults() async throws {
        let settings = try await load()
        #expect(settings.upstreamURL.absoluteString == "https://agp.eu.hcompany.ai/api/v2")
        #expect(settings.pollInterval == .seconds(2))
        #expect(settings.idlePollInterval == .seconds(30))
        #expect(settings.upstreamTimeout == .seconds(10))
        #expect(settings.maxStaleness == .seconds(60))
        #expect(settings.simulate == false)
        #expect(settings.stateFsync == false)
        #expect(settings.simulateLimit == 3)
        #expect(settings.simulateRun == .seconds(30)...(.seconds(180)))
        #expect(settings.socketPath == "/run/slotgate/slotgate.sock")
        #expect(settings.socketMode == 0o660)
        #expect(settings.socketGroup == nil)
        #expect(settings.slotsMax == nil)
        #expect(settings.slotsReserve == 0)
        #expect(settings.claimTTL == .seconds(60))
        #expect(settings.leaseRetention == .seconds(24 * 3600))
        #expect(settings.defaultWait == .seconds(300))
        #expect(settings.maxWaiters == 10_000)
        #expect(settings.maxPerHolder == 0)
        #expect(settings.maxConnections == 16_384)
        #expect(settings.tokensMinRemaining == 0)
        #expect(settings.stateDirectory == "/var/lib/slotgate")
        #expect(settings.postgresURL == nil)
        #expect(settings.fallbackShare == 0)
        #expect(settings.hostID == "box-01234567")
        #expect(settings.metricsListen == nil)
        #expect(settings.displayValue(forKey: "log.level") == "info")
    }

    @Test("The loader's defaults equal init() apart from the host-derived ones")
    func defaultsMatchInit() async throws {
        var settings = try await load()
        settings.hostID = SlotgateSettings().hostID
        #expect(settings == SlotgateSettings())
    }

    @Test("A nested YAML file sets every kind of value")
    func nestedFile() async throws {
        let yaml = """
            # comment
            upstream:
              url: http://127.0.0.1:8080/api/v2/
              poll_interval_s: 0.5
              idle_poll_interval_s: 20
              timeout_s: 5
              max_staleness_s: 45
              simulate: true
              simulate_limit: 7
              simulate_run_s: 0.5-2
            socket:
              path: /tmp/sg.sock
              mode: 0600
              group: slotgate
            slots:
              max: 8
              reserve: 1
            leases:
              claim_ttl_s: 120
              retention_h: 0.5
            queue:
              default_wait_s: 0
              max_waiters: 50
              max_per_holder: 4
              max_connections: 100
            tokens: {min_remaining: 1000}
            state:
              dir: /srv/slotgate
            shared:
              postgres_url: postgres://sg:hunter2@db.example/slotgate
              fallback_share: 2
              host_id: agent-7
            metrics:
              listen: 127.0.0.1:9464
            log:
              level: debug
            """
        let settings = try await load(yaml: yaml)
        #expect(settings.upstreamURL.absoluteString == "http://127.0.0.1:8080/api/v2")
        #expect(settings.pollInterval == .milliseconds(500))
        #expect(settings.idlePollInterval == .seconds(20))
        #expect(settings.upstreamTimeout == .seconds(5))
        #expect(settings.maxStaleness == .seconds(45))
        #expect(settings.simulate)
        #expect(settings.simulateLimit == 7)
        #expect(settings.simulateRun == .milliseconds(500)...(.seconds(2)))
        #expect(settings.socketPath == "/tmp/sg.sock")
        #expect(settings.socketMode == 0o600)
        #expect(settings.socketGroup == "slotgate")
        #expect(settings.slotsMax == 8)
        #expect(settings.slotsReserve == 1)
        #expect(settings.claimTTL == .seconds(120))
        #expect(settings.leaseRetention == .seconds(1800))
        #expect(settings.defaultWait == .zero)
        #expect(settings.maxWaiters == 50)
        #expect(settings.maxPerHolder == 4)
        #expect(settings.maxConnections == 100)
        #expect(settings.tokensMinRemaining == 1000)
        #expect(settings.stateDirectory == "/srv/slotgate")
        #expect(settings.postgresURL == "postgres://sg:hunter2@db.example/slotgate")
        #expect(settings.fallbackShare == 2)
        #expect(settings.hostID == "agent-7")
        #expect(settings.metricsListen == ListenAddress(parsing: "127.0.0.1:9464"))
        #expect(settings.displayValue(forKey: "log.level") == "debug")
    }

    @Test("Dotted keys at the top level of the file work too")
    func dottedFileKeys() async throws {
        let settings = try await load(yaml: "slots.max: 5\nupstream.poll_interval_s: 3\n")
        #expect(settings.slotsMax == 5)
        #expect(settings.pollInterval == .seconds(3))
    }

    @Test("A file of comments only, and sections left empty, are fine")
    func emptyFileAndSections() async throws {
        let comments = try await load(yaml: "# slots:\n#   max: 4\n\n---\n")
        #expect(comments.slotsMax == nil)
        let sections = try await load(yaml: "slots:\n  # max: 4\nqueue:\nlog: ~\n")
        #expect(sections == comments)
        #expect(try await load(yaml: "{}\n") == comments)
    }

    @Test("An empty value of slots.max means none")
    func emptySlotsMax() async throws {
        #expect(try await load(yaml: "slots:\n  max:\n").slotsMax == nil)
        #expect(try await load(environment: ["SLOTGATE_SLOTS_MAX": ""]).slotsMax == nil)
    }

    @Test("The environment overrides the file")
    func environmentOverridesFile() async throws {
        let settings = try await load(
            yaml: "slots:\n  max: 4\nupstream:\n  poll_interval_s: 3\n",
            environment: ["SLOTGATE_SLOTS_MAX": "6", "SLOTGATE_UPSTREAM_URL": "https://example.test/v2"]
        )
        #expect(settings.slotsMax == 6)
        #expect(settings.pollInterval == .seconds(3))
        #expect(settings.upstreamURL.absoluteString == "https://example.test/v2")
    }

    @Test("Every key can be set from its SLOTGATE_ variable")
    func everyKeyFromEnvironment() async throws {
        let values: [String: String] = [
            "upstream.url": "https://example.test", "upstream.poll_interval_s": "1", "upstream.idle_poll_interval_s": "10",
            "upstream.timeout_s": "3", "upstream.max_staleness_s": "11", "upstream.simulate": "yes",
            "upstream.simulate_limit": "2", "upstream.simulate_run_s": "5",
            "socket.path": "/tmp/x.sock", "socket.mode": "640", "socket.group": "wheel", "socket.admin_group": "adm",
            "socket.max_connections_per_uid": "7", "queue.max_per_uid": "3", "proxy.session_scope": "UID",
            "proxy.allow": "GET /api/v2/sessions, * /api/v2/quota/**",
            "slots.max": "9", "slots.reserve": "2", "leases.claim_ttl_s": "30", "leases.retention_h": "1",
            "queue.default_wait_s": "60", "queue.max_waiters": "5", "queue.max_per_holder": "1", "queue.max_connections": "10",
            "tokens.min_remaining": "5", "state.dir": "/tmp/state", "state.fsync": "true", "shared.postgres_url": "postgresql://db/x",
            "shared.fallback_share": "1", "shared.host_id": "h1", "metrics.listen": "[::1]:9000", "log.level": "error",
            "log.format": "JSON",
        ]
        #expect(Set(values.keys) == Set(SlotgateSettings.keyReference.map(\.name)))
        let environment = Dictionary(
            uniqueKeysWithValues: SlotgateSettings.keyReference.map { key in
                (key.environmentVariable, values[key.name] ?? "")
            }
        )
        let settings = try await load(environment: environment)
        #expect(settings.changes(from: try await load()) == SlotgateSettings.keyReference.map(\.name))
        #expect(settings.slotsMax == 9)
        #expect(settings.leaseRetention == .seconds(3600))
        #expect(settings.socketMode == 0o640)
        #expect(settings.connectionsPerUID(openFileLimit: 65_536) == 7)
        #expect(settings.maxPerUID == 3)
        #expect(settings.sessionScope == .uid)
        #expect(settings.socketAdminGroup == "adm")
        #expect(settings.proxyAllow.map(\.description) == ["GET /api/v2/sessions", "* /api/v2/quota/**"])
        #expect(settings.simulate)
        #expect(settings.simulateRun == .seconds(5)...(.seconds(5)))
        #expect(settings.stateFsync)
        #expect(settings.metricsListen?.host == "::1")
        #expect(settings.postgresURL == "postgresql://db/x")
        #expect(settings.logFormat == .json)
    }

    @Test("SLOTGATE_SOCKET names the socket; SLOTGATE_SOCKET_PATH wins over it")
    func socketAlias() async throws {
        #expect(try await load(environment: ["SLOTGATE_SOCKET": "/tmp/a.sock"]).socketPath == "/tmp/a.sock")
        let both = try await load(environment: ["SLOTGATE_SOCKET": "/tmp/a.sock", "SLOTGATE_SOCKET_PATH": "/tmp/b.sock"])
        #expect(both.socketPath == "/tmp/b.sock")
        let (error, _) = await loadError(environment: ["SLOTGATE_SOCKET": ""])
        #expect(error?.description.contains("from environment variable SLOTGATE_SOCKET)") == true)
    }

    @Test("Flags override the environment and the file")
    func flagsOverrideEnvironment() async throws {
        let settings = try await load(
            yaml: "socket:\n  path: /tmp/file.sock\nlog:\n  level: error\n",
            environment: ["SLOTGATE_SOCKET_PATH": "/tmp/env.sock", "SLOTGATE_STATE_DIR": "/tmp/env-state", "SLOTGATE_LOG_LEVEL": "warning"],
            overrides: CommandLineOverrides(socketPath: "/tmp/flag.sock", stateDirectory: "/tmp/flag-state", logLevel: "TRACE")
        )
        #expect(settings.socketPath == "/tmp/flag.sock")
        #expect(settings.stateDirectory == "/tmp/flag-state")
        #expect(settings.displayValue(forKey: "log.level") == "trace")
    }

    @Test("A bad flag value names the flag")
    func badFlag() async {
        let (error, _) = await loadError(overrides: CommandLineOverrides(logLevel: "loud"))
        #expect(error?.key == "log.level")
        #expect(error?.description.contains("(from --log-level)") == true)
    }

    @Test("A missing default file is fine; a missing --config file is an error")
    func missingFiles() async throws {
        _ = try await load()
        let path = missingPath()
        let (error, _) = await loadError(overrides: CommandLineOverrides(configPath: path))
        #expect(error?.description == "--config \(path): no such file")
        #expect(error?.key == "--config")
        let (empty, _) = await loadError(overrides: CommandLineOverrides(configPath: ""))
        #expect(empty?.key == "--config")
    }

    @Test("A file that is not YAML, or whose top level is not a mapping, is an error naming the file")
    func invalidFile() async {
        for text in ["slots: [1, 2", "- a\n- b\n"] {
            let (error, path) = await loadError(yaml: text)
            #expect(error != nil, "\(text)")
            if let path {
                #expect(error?.description.hasPrefix(path) == true)
            }
        }
    }

    @Test("A list where a value belongs is an error naming the key")
    func listValue() async {
        let (error, path) = await loadError(yaml: "slots:\n  max: [1, 2]\n")
        #expect(error?.key == "slots.max")
        #expect(error?.description.contains("in \(path ?? "?")") == true)
    }

    @Test("An unknown key in the file is an error naming it, with a suggestion")
    func unknownFileKey() async {
        let (error, path) = await loadError(yaml: "slots:\n  maxx: 3\n")
        #expect(error?.key == "slots.maxx")
        #expect(error?.description == "unknown key \"slots.maxx\" in \(path ?? "?") (did you mean slots.max?)")
        let (misplaced, _) = await loadError(yaml: "poll_interval_s: 3\n")
        #expect(misplaced?.description.contains("did you mean upstream.poll_interval_s?") == true)
        let (secret, _) = await loadError(yaml: "upstream:\n  api_key: sk-live-123\n")
        #expect(secret?.key == "upstream.api_key")
        #expect(secret?.description.contains("sk-live-123") == false)
        let (section, _) = await loadError(yaml: "slots: 3\n")
        #expect(section?.key == "slots")
    }

    @Test("An unknown SLOTGATE_ variable is an error naming it; other variables are ignored")
    func unknownEnvironmentVariable() async throws {
        let (error, _) = await loadError(environment: ["SLOTGATE_SLOTS_MAXX": "3"])
        #expect(error?.key == "SLOTGATE_SLOTS_MAXX")
        #expect(error?.description.contains("SLOTGATE_SLOTS_MAXX") == true)
        #expect(error?.description.contains("did you mean SLOTGATE_SLOTS_MAX?") == true)
        _ = try await load(environment: ["PATH": "/bin", "SLOTS_MAX": "x", "SLOTGATE_API_KEY": "k", "H_API_KEY": "k"])
    }

    @Test("state.dir defaults to the first path of $STATE_DIRECTORY")
    func stateDirectory() async throws {
        #expect(try await load(environment: ["STATE_DIRECTORY": "/var/lib/slotgate-a:/var/lib/other"]).stateDirectory == "/var/lib/slotgate-a")
        #expect(try await load(environment: ["STATE_DIRECTORY": ""]).stateDirectory == "/var/lib/slotgate")
        let overridden = try await load(environment: ["STATE_DIRECTORY": "/a", "SLOTGATE_STATE_DIR": "/b"])
        #expect(overridden.stateDirectory == "/b")
    }

    @Test("shared.host_id defaults to hostname and machine id, never empty")
    func hostID() async throws {
        #expect(HostFacts(hostname: "box", machineID: nil).defaultHostID == "box")
        #expect(HostFacts(hostname: "", machineID: nil).defaultHostID == "localhost")
        #expect(HostFacts(hostname: "box", machineID: "abcdef0123456789").defaultHostID == "box-abcdef01")
        let current = HostFacts.current()
        #expect(!current.defaultHostID.isEmpty)
        let settings = try await SettingsLoader(environment: [:], host: current, defaultConfigPath: missingPath()).load()
        #expect(settings.hostID == current.defaultHostID)
    }

    @Test("socket.max_connections_per_uid: auto is a quarter of the smaller of queue.max_connections and the open-file limit")
    func connectionsPerUIDAuto() async throws {
        let defaults = try await load()
        #expect(defaults.maxConnectionsPerUID == nil)
        #expect(defaults.connectionsPerUID(openFileLimit: 65_536) == 4_096, "the unit's LimitNOFILE, queue.max_connections 16384")
        #expect(defaults.connectionsPerUID(openFileLimit: 1_024) == 256)
        #expect(defaults.connectionsPerUID(openFileLimit: nil) == 4_096)
        #expect(defaults.connectionsPerUID(openFileLimit: 2) == 1)
        let auto = try await load(environment: ["SLOTGATE_SOCKET_MAX_CONNECTIONS_PER_UID": "auto"])
        #expect(auto.maxConnectionsPerUID == nil)
        let set = try await load(yaml: "socket:\n  max_connections_per_uid: 10\n")
        #expect(set.connectionsPerUID(openFileLimit: 1_024) == 10)
    }

    @Test("The key reference documents every key once, with its environment variable")
    func keyReference() {
        let names = SlotgateSettings.keyReference.map(\.name)
        #expect(names.count == Set(names).count)
        #expect(names.count == 33)
        for key in SlotgateSettings.keyReference {
            #expect(!key.meaning.isEmpty && !key.documentedDefault.isEmpty)
            #expect(key.environmentVariable == "SLOTGATE_" + key.name.uppercased().replacingOccurrences(of: ".", with: "_"))
            #expect(SettingKey.named(key.name) == key)
        }
        #expect(SettingKey.named("upstream.poll_interval_s")?.environmentVariable == "SLOTGATE_UPSTREAM_POLL_INTERVAL_S")
        #expect(SettingKey.named("socket.path")?.aliases == ["--socket", "SLOTGATE_SOCKET"])
    }

    @Test("gatekeeper carries the core's settings")
    func gatekeeper() async throws {
        let settings = try await load(yaml: "slots: {max: 5, reserve: 1}\nqueue: {max_waiters: 7, max_per_holder: 2, default_wait_s: 9}\n")
        let core = settings.gatekeeper
        #expect(core.slotsMax == 5)
        #expect(core.reserve == 1)
        #expect(core.maxWaiters == 7)
        #expect(core.maxPerHolder == 2)
        #expect(core.defaultWait == .seconds(9))
        #expect(core.claimTTL == settings.claimTTL)
        #expect(core.maxStaleness == settings.maxStaleness)
        #expect(core.fastPollInterval == settings.pollInterval)
        #expect(core.tokensMinRemaining == settings.tokensMinRemaining)
        #expect(core.endedRetention == settings.leaseRetention)
    }
}
