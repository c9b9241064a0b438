//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import ServiceLifecycle
import SlotgateConfig
import SlotgateCore
import SlotgateServer
import SlotgateSystemd
import SlotgateUpstream
import Synchronization
import UnixSignals

/// SIGHUP: re-read the settings, validate them, and swap them in; a bad file keeps the running settings and the
/// log names the key that is wrong. The service manager hears `RELOADING=1` before and `READY=1` after, with a
/// status line saying whether the reload was refused.
struct ReloadService: Service {
    let loader: SettingsLoader
    let running: RunningSettings
    let gatekeeper: any SlotKeeper
    let poller: UpstreamPoller?
    let logger: Logger
    /// SIGHUP, trapped by the daemon before the group starts; nil traps it when `run()` starts.
    let hangups: UnixSignalsSequence?
    let notifier: any ServiceManagerNotifier
    /// The status reporter, told of refused reloads; nil when no manager listens.
    let status: ServiceManagerStatus?
    /// Where `/v1/status` reads the last reload; nil in tests that do not look.
    let facts: DaemonFacts?

    init(
        loader: SettingsLoader,
        running: SlotgateSettings,
        gatekeeper: any SlotKeeper,
        poller: UpstreamPoller?,
        logger: Logger,
        hangups: UnixSignalsSequence? = nil,
        notifier: any ServiceManagerNotifier = SilentNotifier(),
        status: ServiceManagerStatus? = nil,
        facts: DaemonFacts? = nil
    ) {
        self.loader = loader
        self.running = RunningSettings(running)
        self.gatekeeper = gatekeeper
        self.poller = poller
        self.logger = logger
        self.hangups = hangups
        self.notifier = notifier
        self.status = status
        self.facts = facts
    }

    func run() async throws {
        // SIGHUP's default action terminates the process. The daemon traps it before the group starts, so neither
        // a stray SIGHUP during start-up nor a reload right after READY=1 can kill it or be lost.
        let signals: UnixSignalsSequence
        if let hangups {
            signals = hangups
        } else {
            signals = await UnixSignalsSequence(trapping: .sighup)
        }
        for await _ in signals.cancelOnGracefulShutdown() {
            notifier.reloading()
            let refusal = await reload()
            status?.reloaded(refusal: refusal)
            // A refused reload's reason stays in the status line (the reporter's note) until a reload succeeds.
            let line = await status?.currentLine()
            notifier.ready(status: refusal == nil ? ["settings reloaded", line].compactMap { $0 }.joined(separator: "; ") : line)
        }
    }

    /// Re-reads and applies the settings once.
    /// - Returns: why the reload was refused, or nil when the new settings are in force.
    @discardableResult
    func reload() async -> String? {
        let loaded: SlotgateSettings
        do {
            loaded = try await loader.load()
        } catch {
            logger.error("reload refused; keeping the running settings", metadata: ["reason": "\(error.description)"])
            let reason = error.description.split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid settings"
            facts?.reloaded(at: WallClock().now, refusal: reason, pendingRestart: [])
            return reason
        }
        let outcome = running.value.withLock { current in
            let outcome = current.reloaded(with: loaded)
            current = outcome.settings
            return outcome
        }
        DaemonLogHandler.sharedLevel.store(outcome.settings.logLevel.rank, ordering: .relaxed)
        DaemonLogHandler.writesJSON.store(outcome.settings.logFormat == .json, ordering: .relaxed)
        await gatekeeper.configure(outcome.settings.gatekeeper)
        poller?.update(settings: Daemon.pollerSettings(outcome.settings))
        facts?.reloaded(at: WallClock().now, refusal: nil, pendingRestart: outcome.needsRestart)
        logger.notice(
            "settings reloaded",
            metadata: [
                "applied": "\(outcome.applied.joined(separator: ","))",
                "needs_restart": "\(outcome.needsRestart.joined(separator: ","))",
            ]
        )
        return nil
    }
}

/// The settings in force, shared between reloads.
final class RunningSettings: Sendable {
    let value: Mutex<SlotgateSettings>

    init(_ settings: SlotgateSettings) {
        value = Mutex(settings)
    }
}
