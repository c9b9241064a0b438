//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateCore
import SlotgateStore

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp, removed by `remove()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/sg-store-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let base = buffer.baseAddress else { return false }
            return mkdtemp(base) != nil
        }
        guard made else { throw CocoaError(.fileWriteUnknown) }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var ledger: String { path + "/" + SQLiteLeaseStore.fileName }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

enum Sample {
    static let logger = Logger(label: "store-test")
    static let start = Timestamp(millisecondsSinceEpoch: 1_795_953_600_000)

    /// A lease with every field set, including the accounting facts, with distinct values.
    static func fullLease(_ n: UInt64 = 1) -> Lease {
        var random = SplitMix64(seed: n)
        var lease = Lease(
            id: LeaseID(time: start, random: &random),
            holder: "holder-é-\(n)",
            uid: UInt32.max - 1,
            gid: 4_000_000_000,
            pid: Int32.max,
            priority: -7,
            claimTTL: .nanoseconds(61_000_000_123),
            requestedAt: Timestamp(nanosecondsSinceEpoch: 1_795_953_600_000_000_001),
            host: "host-a"
        )
        lease.state = .draining
        lease.sessionID = "ses_\(n)"
        lease.grantedAt = Timestamp(nanosecondsSinceEpoch: 1_795_953_600_100_000_002)
        lease.expiresAt = Timestamp(nanosecondsSinceEpoch: 1_795_953_660_100_000_003)
        lease.releasedAt = Timestamp(nanosecondsSinceEpoch: 1_795_953_700_000_000_004)
        lease.boundAt = Timestamp(nanosecondsSinceEpoch: 1_795_953_601_000_000_005)
        lease.waitDeadline = Timestamp(nanosecondsSinceEpoch: 1_795_953_900_000_000_006)
        lease.createInDoubtSince = Timestamp(nanosecondsSinceEpoch: 1_795_953_602_000_000_007)
        lease.countsUntilSnapshotAfter = Timestamp(nanosecondsSinceEpoch: 1_795_953_703_000_000_008)
        return lease
    }

    /// A granted lease with only what a grant sets.
    static func granted(_ n: UInt64, at time: Timestamp = start) -> Lease {
        var random = SplitMix64(seed: n)
        var lease = Lease(
            id: LeaseID(time: time, random: &random),
            holder: "h\(n)",
            uid: 1000,
            gid: 1000,
            pid: 42,
            priority: 0,
            claimTTL: .seconds(60),
            requestedAt: time,
            host: "host-a"
        )
        lease.state = .granted
        lease.grantedAt = time
        lease.expiresAt = time.advanced(by: .seconds(60))
        return lease
    }

    /// An ended lease that ended at `ended`.
    static func ended(_ n: UInt64, at ended: Timestamp) -> Lease {
        var lease = granted(n, at: ended.advanced(by: .seconds(-1)))
        lease.state = .released
        lease.expiresAt = nil
        lease.releasedAt = ended
        return lease
    }
}

/// Runs `body` with a tmpfs of `size` mounted on a fresh directory, unmounting it afterwards; nil when the
/// mount is refused (not root, no tmpfs).
func withTinyFileSystem<T>(size: String, _ body: (String) async throws -> T) async throws -> T? {
    let directory = try ScratchDirectory()
    defer { directory.remove() }
    guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", directory.path]) == 0 else { return nil }
    do {
        let result = try await body(directory.path)
        _ = run("/bin/umount", [directory.path])
        return result
    } catch {
        _ = run("/bin/umount", [directory.path])
        throw error
    }
}

/// Runs a program and returns its exit status.
@discardableResult
func run(_ executable: String, _ arguments: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do {
        try process.run()
    } catch {
        return -1
    }
    process.waitUntilExit()
    return process.terminationStatus
}
