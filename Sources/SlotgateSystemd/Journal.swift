//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CSystemd
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// journald: whether stderr is connected to it, and structured entries sent with `sd_journal_sendv`.
public enum Journal {
    /// Whether stderr is the journal: systemd sets `JOURNAL_STREAM` to the `DEVICE:INODE` of the stream it
    /// connected, and it must still be the stream on fd 2 (a shell redirect would make it stale).
    /// - Parameter journalStream: the value of `JOURNAL_STREAM`, or nil when unset.
    public static func isStandardErrorJournal(journalStream: String?) -> Bool {
        guard let journalStream else { return false }
        return streamMatches(journalStream, fileDescriptor: STDERR_FILENO)
    }

    /// Whether `DEVICE:INODE` (decimal, as `JOURNAL_STREAM` carries them) names the file behind a descriptor.
    /// - Parameters:
    ///   - value: the `JOURNAL_STREAM` text.
    ///   - fileDescriptor: the descriptor to compare with.
    public static func streamMatches(_ value: String, fileDescriptor: CInt) -> Bool {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(fileDescriptor, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }

    /// The syslog priority journald files an entry under (`PRIORITY=`, the `<N>` prefix).
    /// - Parameter level: the log level.
    public static func priority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// The journal field name for a logger metadata key: `lease_id` → `LEASE_ID`, `upstream.status` →
    /// `UPSTREAM_STATUS`. Fields journald reserves or slotgate sets itself get a `META_` prefix; nil when nothing
    /// usable is left.
    /// - Parameter key: the metadata key.
    public static func fieldName(forMetadataKey key: String) -> String? {
        var name = String(
            key.uppercased().unicodeScalars.map { scalar -> Character in
                ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
            }
        )
        // Names start with a letter: a leading underscore marks trusted fields, a leading digit is invalid.
        while let first = name.first, !first.isLetter { name.removeFirst() }
        guard !name.isEmpty else { return nil }
        if ownFields.contains(name) || name.hasPrefix("CODE_") || name.hasPrefix("SYSLOG_") { name = "META_" + name }
        return String(name.prefix(64))
    }

    /// Where journald takes native entries; fixed in libsystemd.
    static let socketPath = "/run/systemd/journal/socket"

    /// Fields every entry carries, which metadata must not overwrite.
    private static let ownFields: Set<String> = ["MESSAGE", "MESSAGE_ID", "PRIORITY", "ERRNO", "LOGGER"]

    /// Sends one entry to journald.
    /// - Parameter fields: `(NAME, value)` pairs; names are upper-case journal field names, values any text
    ///   (line breaks included).
    /// - Returns: 0 on success, or the negative errno (`-ENOENT` when journald's socket does not exist).
    @discardableResult
    public static func send(_ fields: [(name: String, value: String)]) -> CInt {
        // sd_journal_sendv reports success when journald's socket is missing (it "fails silently"), which would
        // lose the entry: check for the socket first so the caller can write the line elsewhere.
        var info = stat()
        guard stat(socketPath, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { return -ENOENT }
        let encoded = fields.map { Array("\($0.name)=\($0.value)".utf8) }
        var buffers: [UnsafeMutableRawBufferPointer] = []
        buffers.reserveCapacity(encoded.count)
        defer { for buffer in buffers { buffer.deallocate() } }
        var vectors: [iovec] = []
        vectors.reserveCapacity(encoded.count)
        for bytes in encoded {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            buffer.copyBytes(from: bytes)
            buffers.append(buffer)
            vectors.append(iovec(iov_base: buffer.baseAddress, iov_len: bytes.count))
        }
        // sd_journal_send is variadic and cannot be called from Swift; sd_journal_sendv takes the same fields.
        return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, CInt($0.count)) }
    }
}
