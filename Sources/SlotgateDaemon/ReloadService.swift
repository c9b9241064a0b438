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
import SlotgateUpstream
import Synchronization
import UnixSignals

/// SIGHUP: re-read the settings, validate them, and swap them in; a bad file keeps the running settings and the
/// log names the key that is wrong.
struct ReloadService: Service {
    let loader: SettingsLoader
    let running: RunningSettings
    let gatekeeper: Gatekeeper
    let poller: UpstreamPoller
    let logger: Logger

    init(loader: SettingsLoader, running: SlotgateSettings, gatekeeper: Gatekeeper, poller: UpstreamPoller, logger: Logger) {
        self.loader = loader
        self.running = RunningSettings(running)
        self.gatekeeper = gatekeeper
        self.poller = poller
        self.logger = logger
    }

    func run() async throws {
        // Trapping SIGHUP here, at start, also keeps its default action (terminate) from killing the daemon.
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            await reload()
        }
    }

    /// Re-reads and applies the settings once.
    func reload() async {
        let loaded: SlotgateSettings
        do {
            loaded = try await loader.load()
        } catch {
            logger.error("reload refused; keeping the running settings", metadata: ["reason": "\(error.description)"])
            return
        }
        let outcome = running.value.withLock { current in
            let outcome = current.reloaded(with: loaded)
            current = outcome.settings
            return outcome
        }
        DaemonLogHandler.sharedLevel.store(outcome.settings.logLevel.rank, ordering: .relaxed)
        await gatekeeper.configure(outcome.settings.gatekeeper)
        poller.update(settings: Daemon.pollerSettings(outcome.settings))
        logger.notice(
            "settings reloaded",
            metadata: [
                "applied": "\(outcome.applied.joined(separator: ","))",
                "needs_restart": "\(outcome.needsRestart.joined(separator: ","))",
            ]
        )
    }
}

/// The settings in force, shared between reloads.
final class RunningSettings: Sendable {
    let value: Mutex<SlotgateSettings>

    init(_ settings: SlotgateSettings) {
        value = Mutex(settings)
    }
}
