//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import ServiceLifecycle
import SlotgateCore
import SlotgateSystemd
import Synchronization

/// Keeps the service manager informed: a `STATUS=` line that follows the gatekeeper (sent only when it changed,
/// at most twice a second), and `STOPPING=1` as soon as graceful shutdown begins. Put it last in the group so it
/// hears of the shutdown first. Runs only when a manager listens.
final class ServiceManagerStatus: Service, Sendable {
    /// How often the gatekeeper's status is read.
    static let pollInterval: Duration = .milliseconds(500)

    private let notifier: any ServiceManagerNotifier
    private let gatekeeper: any SlotKeeper
    /// What the last reload said when it was refused; shown after the status until a reload succeeds.
    private let reloadNote = Mutex<String?>(nil)

    init(notifier: any ServiceManagerNotifier, gatekeeper: any SlotKeeper) {
        self.notifier = notifier
        self.gatekeeper = gatekeeper
    }

    /// The status line of now, with the reload note.
    func currentLine() async -> String {
        let line = await gatekeeper.status().serviceManagerLine
        guard let note = reloadNote.withLock({ $0 }) else { return line }
        return "\(line); \(note)"
    }

    /// Records a reload's outcome for the status line.
    /// - Parameter refusal: why the reload was refused, or nil when it was applied.
    func reloaded(refusal: String?) {
        reloadNote.withLock { $0 = refusal.map { "last reload refused: \($0.prefix(160))" } }
    }

    func run() async throws {
        var sent: String?
        // The loop ends on graceful shutdown (the sleep throws) or cancellation.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let line = await currentLine()
            if line != sent {
                notifier.status(line)
                sent = line
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.pollInterval) }
            } catch {
                break
            }
        }
        notifier.stopping(status: "stopping")
    }
}
