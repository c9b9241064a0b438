//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

extension SQLiteLeaseStore {
    /// Moves a broken ledger and its `-wal` and `-shm` files aside as `ledger.sqlite.broken-<time>` (and
    /// `…-wal`, `…-shm`), so the daemon can start with an empty one (`--reset-state`). The moved files stay
    /// openable with `sqlite3` for an operator reconstructing what happened.
    /// - Parameters:
    ///   - directory: the state directory.
    ///   - now: the time in the new name.
    /// - Returns: the new path of the main file, or nil when there was no ledger.
    /// - Throws: `StoreError` `move_aside_failed`.
    public static func moveAside(directory: String, now: Date = Date()) throws(StoreError) -> String? {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        let manager = FileManager.default
        guard manager.fileExists(atPath: path) || manager.fileExists(atPath: path + "-wal") else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var target = path + ".broken-" + formatter.string(from: now)
        var attempt = 1
        while manager.fileExists(atPath: target) {
            attempt += 1
            target = path + ".broken-" + formatter.string(from: now) + "-\(attempt)"
        }
        for suffix in ["", "-wal", "-shm"] where manager.fileExists(atPath: path + suffix) {
            do {
                try manager.moveItem(atPath: path + suffix, toPath: target + suffix)
            } catch {
                throw .moveAsideFailed(path, "\(path + suffix): \(error.localizedDescription)")
            }
        }
        return target
    }
}
