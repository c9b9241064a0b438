//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import CSystemd

#if canImport(Glibc)
import Glibc
#endif

/// Socket activation: the listening socket a `.socket` unit (or `systemd-socket-activate`) passed in through
/// `LISTEN_FDS`, `LISTEN_PID` and `LISTEN_FDNAMES`.
public enum SocketActivation {
    /// A listening socket passed by the service manager.
    public struct InheritedSocket: Sendable, Hashable {
        /// The descriptor, from `SD_LISTEN_FDS_START` (3) on.
        public var fileDescriptor: CInt
        /// Its `FileDescriptorName=` (`--fdname=`), or `"unknown"` when none was given.
        public var name: String

        /// Describes a passed socket.
        /// - Parameters:
        ///   - fileDescriptor: the descriptor.
        ///   - name: its `FileDescriptorName=`.
        public init(fileDescriptor: CInt, name: String) {
            self.fileDescriptor = fileDescriptor
            self.name = name
        }

        /// The socket's path in the file system (`ListenStream=/path`), read from the descriptor; nil for an
        /// abstract or unnamed socket, or one that cannot be inspected.
        public var path: String? {
            var address = sockaddr_un()
            var length = socklen_t(MemoryLayout<sockaddr_un>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fileDescriptor, $0, &length) }
            }
            guard named == 0, address.sun_family == sa_family_t(AF_UNIX) else { return nil }
            // The address was zeroed first, so the path ends at the first NUL (or fills sun_path); an abstract
            // socket's name starts with one.
            return withUnsafeBytes(of: &address.sun_path) { raw in
                let end = raw.firstIndex(of: 0) ?? raw.endIndex
                return end > 0 ? String(decoding: raw[..<end], as: UTF8.self) : nil
            }
        }
    }

    /// Why the passed descriptors cannot be served.
    public struct Problem: Error, CustomStringConvertible {
        /// One or two sentences naming the descriptor and what to change.
        public let description: String
    }

    /// Takes the socket to serve the API on, if the manager passed one, and clears the `LISTEN_*` variables so
    /// child processes do not take it too.
    ///
    /// One descriptor is served as it is; of several, the one named `preferredName`. It must be a listening
    /// Unix stream socket (`ListenStream=/path`).
    /// - Parameter preferredName: the `FileDescriptorName=` to pick among several descriptors.
    /// - Returns: the socket, or nil when the process was not socket-activated.
    /// - Throws: ``Problem`` when descriptors were passed but none can be served.
    public static func takeListeningSocket(preferredName: String = "api") throws(Problem) -> InheritedSocket? {
        let passed = try listenFileDescriptors()
        guard !passed.isEmpty else { return nil }
        let chosen: InheritedSocket
        if passed.count == 1, let only = passed.first {
            chosen = only
        } else if let named = passed.first(where: { $0.name == preferredName }) {
            chosen = named
        } else {
            let names = passed.map { "\($0.fileDescriptor) (\($0.name))" }.joined(separator: ", ")
            throw Problem(
                description: "LISTEN_FDS passed \(passed.count) descriptors, \(names), and none is named \"\(preferredName)\"; "
                    + "give the API socket FileDescriptorName=\(preferredName) or pass only one"
            )
        }
        try validate(chosen)
        return chosen
    }

    /// Checks that a descriptor is a listening Unix stream socket.
    /// - Parameter socket: the descriptor and its name.
    /// - Throws: ``Problem`` naming what the descriptor is instead.
    public static func validate(_ socket: InheritedSocket) throws(Problem) {
        let result = sd_is_socket_unix(socket.fileDescriptor, CInt(SOCK_STREAM.rawValue), 1, nil, 0)
        if result > 0 { return }
        let what: String
        if result < 0 {
            what = "cannot be inspected (\(String(cString: strerror(-result))))"
        } else if sd_is_socket(socket.fileDescriptor, AF_UNSPEC, 0, -1) > 0 {
            what = "is a socket but not a listening Unix stream socket"
        } else {
            what = "is not a socket"
        }
        throw Problem(
            description: "LISTEN_FDS passed descriptor \(socket.fileDescriptor) (\(socket.name)), which \(what); "
                + "slotgated serves a Unix stream socket: use ListenStream=/path/to/api.sock in the .socket unit"
        )
    }

    /// Every descriptor passed in, with its name; empty when none were.
    private static func listenFileDescriptors() throws(Problem) -> [InheritedSocket] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        defer {
            if let names {
                for index in 0..<Int(max(count, 0)) { free(names[index]) }
                free(names)
            }
        }
        guard count >= 0 else {
            throw Problem(description: "cannot read LISTEN_FDS: \(String(cString: strerror(-count)))")
        }
        return (0..<count).map { index in
            let name = names?[Int(index)].map { String(cString: $0) } ?? "unknown"
            return InheritedSocket(fileDescriptor: SD_LISTEN_FDS_START + index, name: name)
        }
    }
}
