//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateConfig
import SlotgateCore
import SlotgateStore

extension Daemon {
    /// The opened ledger and what it held at start.
    struct Ledger: Sendable {
        /// The store the gatekeeper writes to.
        let store: SQLiteLeaseStore
        /// The leases to restore, live and ended (the core skips waiting ones; none are stored).
        let leases: [Lease]

        /// Every stored lease, for `GET /v1/leases?all=1`.
        var history: @Sendable () async throws -> [Lease] {
            let store = self.store
            return { try await store.load() }
        }
    }

    /// Opens `<state.dir>/ledger.sqlite`, prunes ended leases past `leases.retention_h`, and loads the rest.
    /// A ledger that cannot be opened stops the start with a message naming the file and `--reset-state`; with
    /// `--reset-state` it is moved aside and the daemon starts empty, which is logged at error level.
    /// - Parameters:
    ///   - settings: the settings.
    ///   - logger: the logger.
    ///   - onWriteFailure: called on every failed write of the running ledger (`slotgate_ledger_write_errors_total`).
    func openLedger(
        settings: SlotgateSettings,
        logger: Logger,
        onWriteFailure: @escaping @Sendable (StoreError) -> Void = { _ in }
    ) async throws(StartError) -> Ledger {
        let directory = settings.stateDirectory
        let started = ContinuousClock.now
        let store: SQLiteLeaseStore
        do {
            store = try SQLiteLeaseStore(
                directory: directory,
                retention: settings.leaseRetention,
                fsync: settings.stateFsync,
                logger: logger,
                onWriteFailure: onWriteFailure
            )
            if resetState {
                logger.notice(
                    "--reset-state: the lease ledger \(store.path) opened fine; nothing was moved and its leases are kept",
                    metadata: ["path": "\(store.path)"]
                )
            }
        } catch let error where resetState && error.isResettable {
            let moved: String?
            do {
                moved = try SQLiteLeaseStore.moveAside(directory: directory)
            } catch {
                throw StartError(error)
            }
            let what =
                if let moved {
                    "moved \(error.path) (with its -wal and -shm files, if any) to \(moved)"
                } else {
                    "found no ledger file to move"
                }
            logger.error(
                """
                --reset-state: the lease ledger could not be opened (\(error.code)); \(what), and a new empty ledger is created. \
                Starting with NO leases: leases granted before this start are no longer counted, and sessions they created \
                count as external until they end. Nothing else in \(directory) was changed.
                """,
                metadata: ["path": "\(error.path)", "moved_to": "\(moved ?? "-")", "reason": "\(error.description)"]
            )
            do {
                store = try SQLiteLeaseStore(
                    directory: directory,
                    retention: settings.leaseRetention,
                    fsync: settings.stateFsync,
                    logger: logger,
                    onWriteFailure: onWriteFailure
                )
            } catch {
                throw StartError(error)
            }
        } catch {
            throw StartError(error)
        }
        do {
            let cutoff = WallClock().now.advanced(by: .zero - settings.leaseRetention)
            let pruned = try await store.prune(endedBefore: cutoff)
            let leases = try await store.load()
            let live = leases.filter { $0.state.holdsSlot }.count
            logger.info(
                "loaded the lease ledger",
                metadata: [
                    "path": "\(store.path)", "live": "\(live)", "ended": "\(leases.count - live)", "pruned": "\(pruned)",
                    "fsync": "\(settings.stateFsync)", "ms": "\((ContinuousClock.now - started).milliseconds)",
                ]
            )
            return Ledger(store: store, leases: leases)
        } catch let error as StoreError {
            throw StartError(error)
        } catch {
            throw StartError(description: "the lease ledger \(store.path) cannot be read: \(error)", exitCode: 69)
        }
    }
}
