//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Who is on the other end of a Unix socket, from the kernel (SO_PEERCRED); a client cannot claim another uid.
public struct PeerCredentials: Sendable, Hashable {
    /// The peer's user id.
    public var uid: UInt32
    /// The peer's group id.
    public var gid: UInt32
    /// The peer's process id.
    public var pid: Int32

    /// Creates credentials.
    /// - Parameters:
    ///   - uid: user id.
    ///   - gid: group id.
    ///   - pid: process id.
    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }

    /// Stands for a peer whose credentials could not be read (a TCP connection in tests): uid and gid -1, no
    /// process. Never root, so such a peer acts on no one else's lease.
    public static let unreadable = PeerCredentials(uid: UInt32.max, gid: UInt32.max, pid: 0)

    /// The credentials of the process connected to `channel`, or ``unreadable``.
    /// - Parameter channel: the connection.
    public static func of(_ channel: any Channel) async -> PeerCredentials {
        await read(from: channel) ?? .unreadable
    }

    /// Reads the credentials of the process connected to `channel`; nil when the channel is not a Unix socket
    /// (a TCP connection in tests). A connection of the API's listener had them read when it opened
    /// (``PeerCredentialsRecorder``); any other is asked on its event loop.
    /// - Parameter channel: the connection.
    public static func read(from channel: any Channel) async -> PeerCredentials? {
        if let recorded = PeerCredentialsRecorder.credentials(of: channel) { return recorded }
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        guard let credentials = try? await future.get() else { return nil }
        return PeerCredentials(credentials)
        #else
        return nil
        #endif
    }

    /// Reads the credentials of the process connected to `channel` at once; on its event loop only.
    static func readOnEventLoop(_ channel: any Channel) -> PeerCredentials? {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(SO_PEERCRED)
        )
        // On the channel's event loop the option is read synchronously and the future is already complete, so
        // the callback runs before `whenSuccess` returns.
        var result: PeerCredentials?
        future.whenSuccess { result = PeerCredentials($0) }
        return result
        #else
        return nil
        #endif
    }

    /// Reads the credentials of the process connected to a Unix socket descriptor; nil when the kernel has none.
    /// - Parameter descriptor: a connected Unix socket.
    static func read(descriptor: CInt) -> PeerCredentials? {
        #if os(Linux)
        var credentials = UCred()
        var length = socklen_t(MemoryLayout<UCred>.size)
        let result = withUnsafeMutablePointer(to: &credentials) { getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, $0, &length) }
        guard result == 0, length == socklen_t(MemoryLayout<UCred>.size) else { return nil }
        return PeerCredentials(credentials)
        #else
        return nil
        #endif
    }

    #if os(Linux)
    private init(_ credentials: UCred) {
        // A peer in another PID namespace has pid 0 but a real (mapped) uid; an unconnected socket has no
        // credentials at all (the overflow uid, not root).
        self.init(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid)
    }
    #endif

}

/// Linux's `struct ucred` (pid_t, uid_t, gid_t), which Glibc's module does not export without `_GNU_SOURCE`.
/// Same three 32-bit fields in the same order, so the kernel's bytes read into it unchanged.
private struct UCred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
