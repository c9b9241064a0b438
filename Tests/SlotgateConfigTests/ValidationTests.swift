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

@Suite("Validation: every bad value stops the load with a message naming the key")
struct ValidationTests {
    static let badValues: [(key: String, value: String)] = [
        ("upstream.url", "ftp://example.test"), ("upstream.url", "not a url"), ("upstream.url", "https://"),
        ("upstream.poll_interval_s", "0"), ("upstream.poll_interval_s", "-1"), ("upstream.poll_interval_s", "2s"),
        ("upstream.poll_interval_s", "nan"), ("upstream.poll_interval_s", "inf"),
        ("upstream.idle_poll_interval_s", "0"), ("upstream.timeout_s", "0"), ("upstream.max_staleness_s", "-5"),
        ("upstream.simulate", "maybe"), ("upstream.simulate_limit", "0"),
        ("upstream.simulate_run_s", "0"), ("upstream.simulate_run_s", "60-30"), ("upstream.simulate_run_s", "10-"),
        ("upstream.simulate_run_s", "1-2-3"), ("upstream.simulate_run_s", "a-b"), ("upstream.simulate_run_s", "90000"),
        ("socket.path", String(repeating: "s", count: 120)), ("socket.mode", "0980"), ("socket.mode", "1777"),
        ("socket.mode", "rw-rw----"), ("socket.group", "two words"), ("socket.admin_group", "two words"),
        ("proxy.allow", "GET /api/v2/../vaults"), ("proxy.allow", "get /api/v2/sessions"), ("proxy.session_scope", "team"),
        ("slots.max", "0"), ("slots.max", "-3"), ("slots.max", "2.5"), ("slots.max", "many"), ("slots.reserve", "-1"),
        ("leases.claim_ttl_s", "0"), ("leases.claim_ttl_s", "3601"), ("leases.retention_h", "0.1"), ("leases.retention_h", "x"),
        ("queue.default_wait_s", "-1"), ("queue.default_wait_s", "86401"), ("queue.max_waiters", "0"),
        ("queue.max_per_holder", "-1"), ("queue.max_connections", "0"), ("tokens.min_remaining", "-1"),
        ("socket.max_connections_per_uid", "0"), ("socket.max_connections_per_uid", "many"), ("queue.max_per_uid", "-2"),
        ("state.fsync", "sometimes"), ("shared.fallback_share", "-1"), ("shared.host_id", "a b"),
        ("metrics.listen", "127.0.0.1"), ("metrics.listen", "127.0.0.1:0"), ("metrics.listen", "localhost:70000"),
        ("metrics.listen", ":9464"), ("metrics.listen", "10.0.0:80"), ("metrics.listen", "256.0.0.1:80"),
        ("metrics.listen", "[zz::1]:80"), ("metrics.listen", "[::1:80"), ("metrics.listen", "[10.0.0.1]:80"),
        ("metrics.listen", "bad host:80"), ("metrics.listen", "-x.example:80"), ("log.level", "verbose"), ("log.format", "xml"),
    ]

    @Test("A bad value from the environment names the key, the value and the variable", arguments: badValues)
    func badValueFromEnvironment(key: String, value: String) async throws {
        let variable = try #require(SettingKey.named(key)).environmentVariable
        let (error, _) = await loadError(environment: [variable: value])
        let description = try #require(error).description
        #expect(error?.key == key)
        #expect(description.hasPrefix("\(key): "))
        #expect(description.hasSuffix("(from environment variable \(variable))"))
        #expect(description.contains("got \"\(value.prefix(40))"))
    }

    @Test("A bad value from the file names the key, the value and the file", arguments: badValues)
    func badValueFromFile(key: String, value: String) async throws {
        let parts = key.split(separator: ".")
        let yaml = "\(parts[0]):\n  \(parts[1]): \"\(value)\"\n"
        let (error, path) = await loadError(yaml: yaml)
        let description = try #require(error).description
        #expect(error?.key == key)
        #expect(description.hasPrefix("\(key): "))
        #expect(description.hasSuffix("(in \(try #require(path)))"))
    }

    @Test("Empty values are rejected where a value is needed")
    func emptyValues() async {
        for key in ["socket.path", "state.dir", "shared.host_id", "upstream.url", "log.level", "queue.max_waiters"] {
            let variable = SettingKey.named(key)?.environmentVariable ?? "?"
            let (error, _) = await loadError(environment: [variable: ""])
            #expect(error?.key == key, "\(key)")
        }
    }

    @Test("The message has the documented form")
    func messageForm() async throws {
        let (error, path) = await loadError(yaml: "slots:\n  max: -3\n")
        #expect(error?.description == "slots.max: must be a whole number ≥ 1, got \"-3\" (in \(try #require(path)))")
    }

    @Test("A PostgreSQL URL is never echoed in an error")
    func postgresURLNotEchoed() async {
        let (error, _) = await loadError(environment: ["SLOTGATE_SHARED_POSTGRES_URL": "mysql://user:hunter2@db/x"])
        #expect(error?.key == "shared.postgres_url")
        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains("SLOTGATE_SHARED_POSTGRES_URL") == true)
    }

    @Test(
        "socket.mode is octal text",
        arguments: [("0660", 0o660), ("660", 0o660), ("0o750", 0o750), ("0", 0), ("0777", 0o777), ("0600", 0o600)]
    )
    func socketMode(text: String, mode: Int) async throws {
        #expect(try await load(environment: ["SLOTGATE_SOCKET_MODE": text]).socketMode == mode)
        #expect(try await load(yaml: "socket:\n  mode: \(text)\n").socketMode == mode)
        #expect(try await load(yaml: "socket:\n  mode: \"\(text)\"\n").socketMode == mode)
    }

    @Test("socket.mode rejects non-octal digits and modes above 0777", arguments: ["0778", "8", "0o1000", "01000", "-660", "0x1b6", ""])
    func badSocketMode(text: String) async {
        let (error, _) = await loadError(environment: ["SLOTGATE_SOCKET_MODE": text])
        #expect(error?.key == "socket.mode")
        #expect(error?.description.contains("octal") == true)
    }

    @Test(
        "metrics.listen accepts loopback addresses, and knows them for loopback",
        arguments: [
            "127.0.0.1:9464", "127.1.2.3:1", "localhost:9464", "LocalHost:9464", "[::1]:9464", "::1:9464", "[::ffff:127.0.0.1]:9464",
        ]
    )
    func loopbackListen(text: String) async throws {
        let settings = try await load(environment: ["SLOTGATE_METRICS_LISTEN": text])
        let address = try #require(settings.metricsListen)
        #expect(address.isLoopback, "\(address)")
        #expect(ListenAddress(parsing: address.description) == address)
    }

    @Test(
        "metrics.listen accepts any other address (the daemon warns at start), and knows it is not loopback",
        arguments: [
            ("0.0.0.0:9464", "0.0.0.0"), ("10.0.0.1:80", "10.0.0.1"), ("[::]:9464", "::"), (":::9464", "::"), ("[::2]:80", "::2"),
            ("[2001:DB8::5]:9100", "2001:db8::5"), ("metrics.Example.com:80", "metrics.example.com"), ("prom-1:9464", "prom-1"),
        ]
    )
    func anyListen(text: String, host: String) async throws {
        let settings = try await load(environment: ["SLOTGATE_METRICS_LISTEN": text])
        let address = try #require(settings.metricsListen)
        #expect(address.host == host)
        #expect(!address.isLoopback, "\(address)")
        #expect(ListenAddress(parsing: address.description) == address)
    }

    @Test("max_staleness must exceed the idle interval, which must be at least the fast one")
    func crossKeyRules() async throws {
        let (stale, path) = await loadError(yaml: "upstream:\n  max_staleness_s: 30\n")
        #expect(stale?.key == "upstream.max_staleness_s")
        #expect(
            stale?.description
                == "upstream.max_staleness_s: must be greater than upstream.idle_poll_interval_s (30), got \"30\" (in \(try #require(path)))"
        )
        let (raised, _) = await loadError(environment: ["SLOTGATE_UPSTREAM_IDLE_POLL_INTERVAL_S": "90"])
        #expect(raised?.key == "upstream.max_staleness_s")
        #expect(raised?.description.contains("(the built-in default)") == true)
        let (idle, _) = await loadError(environment: ["SLOTGATE_UPSTREAM_POLL_INTERVAL_S": "5", "SLOTGATE_UPSTREAM_IDLE_POLL_INTERVAL_S": "4"])
        #expect(idle?.key == "upstream.idle_poll_interval_s")
        let fine = try await load(environment: ["SLOTGATE_UPSTREAM_IDLE_POLL_INTERVAL_S": "90", "SLOTGATE_UPSTREAM_MAX_STALENESS_S": "91"])
        #expect(fine.maxStaleness == .seconds(91))
    }

    @Test("slots.reserve must stay below slots.max")
    func reserveBelowMax() async throws {
        let (error, _) = await loadError(yaml: "slots: {max: 2, reserve: 2}\n")
        #expect(error?.key == "slots.reserve")
        #expect(try await load(yaml: "slots: {max: 3, reserve: 2}\n").slotsReserve == 2)
    }
}

/// `proxy.allow` is a list: a YAML sequence in the file, one line with commas in the environment.
@Suite("proxy.allow: a list in the file or one line")
struct ProxyAllowTests {
    @Test("a YAML list, a one-line list and the default read the same way")
    func forms() async throws {
        let listed = try await load(yaml: "proxy:\n  allow:\n    - GET /api/v2/sessions/*\n    - \"* /api/v2/quota/**\"\n")
        #expect(listed.proxyAllow.map(\.description) == ["GET /api/v2/sessions/*", "* /api/v2/quota/**"])
        let inline = try await load(yaml: "proxy:\n  allow: [\"GET /api/v2/sessions/*\", \"* /api/v2/quota/**\"]\n")
        #expect(inline.proxyAllow == listed.proxyAllow)
        let line = try await load(environment: ["SLOTGATE_PROXY_ALLOW": "GET /api/v2/sessions/*, * /api/v2/quota/**"])
        #expect(line.proxyAllow == listed.proxyAllow)
        #expect(try await load().proxyAllow == ProxyRoutePattern.defaults)
        #expect(try await load(environment: ["SLOTGATE_PROXY_ALLOW": ""]).proxyAllow.isEmpty)
    }

    @Test("a bad entry in a YAML list names the key and the entry")
    func badEntry() async throws {
        let (error, _) = await loadError(yaml: "proxy:\n  allow:\n    - GET /api/v2/sessions\n    - DELETE /api/v2/../vaults\n")
        #expect(error?.key == "proxy.allow")
        #expect(error?.description.contains("dot segment") == true, "\(error?.description ?? "")")
    }
}
