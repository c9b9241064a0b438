//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The socket file's life around the listener: refuse to start over a live daemon, leave a stale file to be
/// replaced, and set the file's mode and group once it exists.
public enum UnixSocketFile {
    /// Why the socket path cannot be used.
    public struct Problem: Error, CustomStringConvertible {
        /// One sentence naming the path and what to do.
        public let description: String
    }

    /// Checks the path before binding: a socket that answers belongs to another daemon (fail); one that does not
    /// is stale and is replaced; anything else at the path is left alone and stops the start.
    /// - Parameter path: the socket path.
    public static func prepare(_ path: String) throws(Problem) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return }
        guard attributes[.type] as? FileAttributeType == .typeSocket else {
            throw Problem(description: "\(path) exists and is not a socket; remove it or choose another socket.path")
        }
        if answers(path) {
            throw Problem(description: "another slotgated already answers on \(path); stop it first or choose another socket.path")
        }
    }

    /// Whether something accepts connections on the Unix socket at `path`.
    /// - Parameter path: the socket path.
    public static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    /// Sets the socket file's mode and, when given, its group.
    /// - Parameters:
    ///   - path: the socket path.
    ///   - mode: the mode, e.g. 0o660.
    ///   - group: the group id, or nil to keep the daemon's own.
    public static func setAccess(_ path: String, mode: UInt32, group: UInt32?) throws(Problem) {
        if let group, chown(path, uid_t.max, group) != 0 {
            throw Problem(description: "cannot give \(path) to group \(group) (socket.group): \(String(cString: strerror(errno)))")
        }
        if chmod(path, mode_t(mode)) != 0 {
            throw Problem(description: "cannot set the mode of \(path) (socket.mode): \(String(cString: strerror(errno)))")
        }
    }

    /// Which file a path names: its device and inode.
    public struct Identity: Sendable, Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// The identity of the file at `path`, or nil when there is none.
    /// - Parameter path: the path.
    public static func identity(of path: String) -> Identity? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value,
            let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value
        else { return nil }
        return Identity(device: device, inode: inode)
    }

    /// Removes the socket file at `path` when it is still the one this daemon made (not one a later daemon bound
    /// there since), so no stale socket stays behind after a stop.
    /// - Parameters:
    ///   - path: the socket path.
    ///   - identity: the file the daemon made, as it was after the bind.
    ///   - logger: the logger.
    static func remove(_ path: String, ifStill identity: Identity?, logger: Logger) {
        guard let identity, Self.identity(of: path) == identity else { return }
        if unlink(path) == 0 {
            logger.debug("removed the socket file", metadata: ["path": "\(path)"])
        } else {
            logger.warning("the socket file could not be removed", metadata: ["path": "\(path)", "reason": "\(String(cString: strerror(errno)))"])
        }
    }

    /// The id of a group by name, or nil when there is no such group.
    /// - Parameter name: the group name.
    public static func groupID(named name: String) -> UInt32? {
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }
}
