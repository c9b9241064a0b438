//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateCore
import SlotgateSystemd
import Synchronization

extension Daemon {
    /// The listening socket systemd passed (a `.socket` unit), or nil when the daemon binds its own.
    /// - Parameter logger: the logger.
    /// - Throws: ``StartError`` (exit 78) when descriptors were passed but none is a listening Unix stream socket.
    static func inheritedListeningSocket(logger: Logger) throws -> SocketActivation.InheritedSocket? {
        do {
            let socket = try SocketActivation.takeListeningSocket()
            if let socket {
                logger.info("socket-activated", metadata: ["fd": "\(socket.fileDescriptor)", "fd_name": "\(socket.name)"])
            }
            return socket
        } catch {
            throw StartError(description: error.description, exitCode: 78)
        }
    }

    /// Pings the service manager's watchdog from the gatekeeper's own timer loop, so a stuck gatekeeper stops the
    /// pings and gets restarted. Does nothing without a manager or a `WatchdogSec=`.
    /// - Parameters:
    ///   - gatekeeper: the gatekeeper whose loop pings.
    ///   - notifier: the service manager.
    ///   - logger: the logger.
    static func startWatchdog(on gatekeeper: any SlotKeeper, notifier: any ServiceManagerNotifier, logger: Logger) async {
        guard notifier.isListening, let interval = ServiceWatchdog.pingInterval() else { return }
        // The loop turns on every wake-up as well; pinging at most twice per interval keeps a busy gatekeeper from
        // opening a socket per turn, while the longest gap stays 1.5 intervals, under the 2 of the timeout.
        let pacer = WatchdogPacer(minimumGapMicroseconds: UInt64(max(0, interval / .microseconds(1))) / 2)
        await gatekeeper.setHeartbeat(interval: interval) {
            if pacer.shouldPing() { notifier.watchdog() }
        }
        logger.info("pinging the service manager's watchdog", metadata: ["interval_ms": "\(interval / .milliseconds(1))"])
    }
}

/// Spaces watchdog pings: at most one per `minimumGapMicroseconds`.
private final class WatchdogPacer: Sendable {
    private let minimumGap: UInt64
    private let lastPing = Atomic<UInt64>(0)

    init(minimumGapMicroseconds: UInt64) {
        minimumGap = minimumGapMicroseconds
    }

    func shouldPing() -> Bool {
        let now = MonotonicTime.nowMicroseconds()
        let last = lastPing.load(ordering: .relaxed)
        guard last == 0 || now &- last >= minimumGap else { return false }
        lastPing.store(now, ordering: .relaxed)
        return true
    }
}
