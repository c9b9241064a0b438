//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateConfig

#if canImport(Glibc)
import Glibc
#endif

extension Daemon {
    /// Checks, before anything listens, that the socket can be made where `socket.path` says: its directory exists
    /// and the daemon's user may create a file there. A socket passed by systemd needs neither.
    /// - Parameter path: `socket.path`.
    /// - Throws: ``StartError`` 73 (EX_CANTCREAT) for a missing directory, 77 (EX_NOPERM) for one the user may not
    ///   write.
    static func checkSocketDirectory(_ path: String) throws(StartError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw StartError(
                description: "socket.path: the directory \(directory) of the socket \(path) does not exist; create it (the unit's "
                    + "RuntimeDirectory= does), or choose another socket.path (--socket)",
                exitCode: 73
            )
        }
        guard isDirectory.boolValue else {
            throw StartError(
                description: "socket.path: \(directory) of the socket \(path) is not a directory; choose another socket.path",
                exitCode: 73
            )
        }
        if access(directory, W_OK | X_OK) != 0 {
            let code = errno
            guard code == EACCES || code == EPERM || code == EROFS else { return }
            throw StartError(
                description: "socket.path: permission denied: the daemon's user cannot create the socket \(path) in \(directory) "
                    + "(\(String(cString: strerror(code)))); give it write access to the directory or choose another socket.path",
                exitCode: code == EROFS ? 73 : 77
            )
        }
    }

    /// Checks, before anything listens, that `metrics.listen` can be bound: the address resolves to one of this
    /// host's, the port is free, and the daemon's user may use it. Bound and closed at once, with the options the
    /// server binds with (`SO_REUSEADDR`), so only a port another process listens on is refused.
    /// - Parameter address: `metrics.listen`.
    /// - Throws: ``StartError`` 69 (EX_UNAVAILABLE) for a port in use or an address not of this host, 77
    ///   (EX_NOPERM) for a port the user may not bind, 78 (EX_CONFIG) for a host name that does not resolve.
    static func checkMetricsAddress(_ address: ListenAddress) throws(StartError) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(address.host, String(address.port), &hints, &found)
        guard resolved == 0, let first = found else {
            throw StartError(
                description: "metrics.listen: \(address.host) does not resolve (\(String(cString: gai_strerror(resolved)))); "
                    + "name an address of this host",
                exitCode: 78
            )
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 else { return }
        let code = errno
        let reason = String(cString: strerror(code))
        switch code {
        case EADDRINUSE:
            throw StartError(
                description: "metrics.listen: \(address) is already in use by another process (\(reason)); stop it or choose another "
                    + "address or port for metrics.listen",
                exitCode: 69
            )
        case EACCES, EPERM:
            throw StartError(
                description: "metrics.listen: permission denied binding \(address) (\(reason)); ports below 1024 need privileges: "
                    + "choose a higher port",
                exitCode: 77
            )
        case EADDRNOTAVAIL:
            throw StartError(
                description: "metrics.listen: \(address.host) is not an address of this host (\(reason)); name one of its addresses",
                exitCode: 69
            )
        default:
            throw StartError(description: "metrics.listen: \(address) cannot be bound (\(reason))", exitCode: 69)
        }
    }
}
