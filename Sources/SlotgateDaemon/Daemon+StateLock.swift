//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateConfig
import SlotgateStore

extension Daemon {
    /// Takes `<state.dir>/slotgated.lock` (issue 12) before the ledger opens, the socket is bound or adopted and
    /// READY is sent, so a second daemon on the same state directory stops without touching any of them, and
    /// `--reset-state` (handled when the ledger opens) never moves aside a ledger another daemon is using.
    /// - Parameters:
    ///   - settings: the settings (`state.dir`, and `socket.path` for the record).
    ///   - logger: the logger.
    /// - Returns: the lock; the caller holds it until the daemon stops.
    /// - Throws: ``StartError`` (exit 69) naming the other daemon's pid and socket, or why the lock file cannot be
    ///   used.
    func lockStateDirectory(settings: SlotgateSettings, logger: Logger) throws(StartError) -> StateDirectoryLock {
        do {
            let lock = try StateDirectoryLock(directory: settings.stateDirectory, socketPath: settings.socketPath, logger: logger)
            logger.debug("locked the state directory", metadata: ["path": "\(lock.path)"])
            return lock
        } catch {
            throw StartError(error)
        }
    }
}
