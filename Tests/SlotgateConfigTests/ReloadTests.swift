//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateConfig
import Testing

@Suite("Reload: changed keys, live and restart-only")
struct ReloadTests {
    @Test("changes(from:) lists the changed keys in reference order")
    func changes() async throws {
        let old = try await load()
        let new = try await load(yaml: "log:\n  level: debug\nslots:\n  max: 4\nsocket:\n  path: /tmp/new.sock\n")
        #expect(new.changes(from: old) == ["socket.path", "slots.max", "log.level"])
        #expect(old.changes(from: old).isEmpty)
    }

    @Test("A reload applies live keys and keeps the running value of restart-only keys")
    func reloaded() async throws {
        let running = try await load()
        let loaded = try await load(
            yaml: "log: {level: debug}\nslots: {max: 4}\nsocket: {path: /tmp/new.sock}\nupstream: {url: 'https://other.test/v2'}\n"
        )
        let reload = running.reloaded(with: loaded)
        #expect(reload.applied == ["slots.max", "log.level"])
        #expect(reload.needsRestart == ["upstream.url", "socket.path"])
        #expect(reload.settings.displayValue(forKey: "log.level") == "debug")
        #expect(reload.settings.slotsMax == 4)
        #expect(reload.settings.socketPath == running.socketPath)
        #expect(reload.settings.upstreamURL == running.upstreamURL)
        #expect(running.reloaded(with: running).settings == running)
    }

    @Test("Live and restart-only keys are those the design names")
    func liveKeys() {
        let live = Set(SlotgateSettings.keyReference.filter(\.appliesOnReload).map(\.name))
        #expect(
            live == [
                "upstream.poll_interval_s", "upstream.idle_poll_interval_s", "upstream.timeout_s", "upstream.max_staleness_s",
                "slots.max", "slots.reserve", "leases.claim_ttl_s", "leases.retention_h", "queue.default_wait_s",
                "queue.max_waiters", "queue.max_per_holder", "queue.max_per_uid", "tokens.min_remaining", "log.level",
                "log.format",
            ]
        )
        #expect(SettingKey.named("upstream.simulate_run_s")?.appliesOnReload == false)
    }

    @Test("The description shows every key and redacts database credentials")
    func description() async throws {
        let settings = try await load(environment: ["SLOTGATE_SHARED_POSTGRES_URL": "postgres://sg:hunter2@db.example:5432/slotgate?password=x"])
        let text = String(describing: settings)
        #expect(!text.contains("hunter2") && !text.contains("password=x"))
        var dumped = ""
        dump(settings, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(text.contains("shared.postgres_url=postgres://<redacted>@db.example:5432/slotgate?<redacted>"))
        for key in SlotgateSettings.keyReference {
            #expect(text.contains(key.name + "="))
        }
        #expect(settings.displayValue(forKey: "slots.max") == "none")
        #expect(settings.displayValue(forKey: "nope") == nil)
    }
}
