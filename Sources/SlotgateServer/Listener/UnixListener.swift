//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Dispatch
import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The local API's listening socket and its accept loop.
///
/// It accepts connections itself, instead of NIO's `ServerBootstrap`, because the server must know each
/// connection's descriptor: a connection whose request waits for a slot leaves SwiftNIO for the ``ParkingLot``
/// (see ``APIConnectionHandler``), and a channel does not say which descriptor it has. Each accepted descriptor is
/// handed to NIO (`ClientBootstrap.withConnectedSocket`). It also counts connections, parked ones included: at
/// `limits.total` it stops accepting (clients wait in the listen backlog) until one closes.
///
/// It counts them per peer uid as well (SO_PEERCRED, read at accept), so that one local user cannot take every
/// connection: a connection beyond `limits.perUID` is served only to be answered `503 too_many_connections` and
/// closed, and beyond `limits.perUID + refusalsPerUID` it is closed at once, unanswered, so that a user who keeps
/// opening connections costs the others no more than that.
final class UnixListener: Sendable {
    /// The listening descriptor, non-blocking.
    let descriptor: CInt
    private let limits: ConnectionLimits
    private let logger: Logger
    private let queue = DispatchQueue(label: "slotgate.accept")
    private let state: Mutex<State>

    /// At most this many connections are being set up at once (accepted, and not yet past their first read):
    /// a burst of clients is taken in as fast as requests are read, not faster, so the channels of thousands of
    /// connections are never alive at once only to be freed a moment later (the heap would keep their memory).
    static let maxSettling = 64

    /// Connections of one uid beyond its limit that are still answered `too_many_connections`; more are closed
    /// unanswered.
    static let refusalsPerUID = 64

    private struct State {
        var open = 0
        /// Open connections per peer uid, refused ones included.
        var perUID: [UInt32: Int] = [:]
        /// When a uid's refusal was last logged (at most once a minute).
        var refusalLogged: ContinuousClock.Instant?
        var settling = 0
        var accepting: ReadSource?
        var paused = false
        var stopped = false
        /// Resumed when the last connection closes after `stop()`.
        var drained: CheckedContinuation<Void, Never>?
        /// The server stopped waiting for connections to close.
        var drainCancelled = false
    }

    /// Binds a new socket at `path` (a stale socket file there is replaced: the caller checked that nothing answers).
    /// - Parameters:
    ///   - path: the socket path.
    ///   - limits: the most connections open at once, in all and per uid.
    ///   - logger: the logger.
    /// - Throws: `IOError` when the socket cannot be bound.
    convenience init(path: String, limits: ConnectionLimits, logger: Logger) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(descriptor)
            throw IOError(errnoCode: ENAMETOOLONG, reason: "bind \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(descriptor, 256) == 0 else {
            let code = errno
            close(descriptor)
            throw IOError(errnoCode: code, reason: "bind \(path)")
        }
        self.init(descriptor: descriptor, limits: limits, logger: logger)
    }

    /// Serves a listening descriptor passed by the service manager; owned from now on.
    /// - Parameters:
    ///   - descriptor: the listening descriptor.
    ///   - limits: the most connections open at once, in all and per uid.
    ///   - logger: the logger.
    init(descriptor: CInt, limits: ConnectionLimits, logger: Logger) {
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        self.descriptor = descriptor
        self.limits = limits
        self.logger = logger
        self.state = Mutex(State())
    }

    /// Starts accepting; `accepted` gets each new connection's descriptor and its ticket, on the accept queue.
    /// - Parameter accepted: takes the connection over.
    func start(_ accepted: @escaping @Sendable (CInt, ConnectionTicket) -> Void) {
        let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        let descriptor = self.descriptor
        source.setEventHandler { [self] in acceptAll(accepted) }
        source.setCancelHandler { close(descriptor) }
        state.withLock { $0.accepting = ReadSource(source) }
        source.resume()
    }

    private func acceptAll(_ accepted: @Sendable (CInt, ConnectionTicket) -> Void) {
        while true {
            let full = state.withLock { state -> Bool in
                guard state.open >= limits.total || state.settling >= Self.maxSettling || state.stopped else { return false }
                if !state.paused, !state.stopped {
                    state.paused = true
                    state.accepting?.source.suspend()
                }
                return true
            }
            if full { return }
            // Glibc's module map does not export accept4: accept, then the flags.
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EAGAIN, EWOULDBLOCK: return
                default:
                    // Out of descriptors (EMFILE, ENFILE) or memory: wait a little rather than spin on a socket that
                    // stays readable.
                    logger.error("accepting a connection failed", metadata: ["error": "\(String(cString: strerror(errno)))"])
                    pauseAccepting(for: .milliseconds(100))
                    return
                }
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
            let uid = PeerCredentials.read(descriptor: connection)?.uid ?? PeerCredentials.unreadable.uid
            let (admission, log) = admit(uid)
            if log {
                logger.notice(
                    "a user reached its connection limit; its further connections are refused",
                    metadata: ["uid": "\(uid)", "limit": "\(limits.perUID)", "key": "socket.max_connections_per_uid"]
                )
            }
            switch admission {
            case .serve, .refuse:
                accepted(connection, ConnectionTicket(listener: self, uid: uid, refusal: admission == .refuse ? limits.perUID : nil))
            case .close:
                close(connection)
            }
        }
    }

    private enum Admission {
        case serve
        /// Served only to be answered `too_many_connections`.
        case refuse
        /// Closed at once.
        case close
    }

    /// Counts a new connection of `uid`, or not when it is closed at once; says whether to log the refusal.
    private func admit(_ uid: UInt32) -> (Admission, log: Bool) {
        state.withLock { state in
            let mine = state.perUID[uid, default: 0]
            let admission: Admission =
                if mine < limits.perUID { .serve } else if mine < limits.perUID + Self.refusalsPerUID { .refuse } else { .close }
            var log = false
            if admission != .serve {
                let now = ContinuousClock.now
                if state.refusalLogged.map({ $0.duration(to: now) >= .seconds(60) }) ?? true {
                    state.refusalLogged = now
                    log = true
                }
            }
            guard admission != .close else { return (admission, log) }
            state.perUID[uid] = mine + 1
            state.open += 1
            state.settling += 1
            return (admission, log)
        }
    }

    private func pauseAccepting(for delay: DispatchTimeInterval) {
        let paused = state.withLock { state -> Bool in
            guard !state.paused, !state.stopped, let accepting = state.accepting else { return false }
            state.paused = true
            accepting.source.suspend()
            return true
        }
        guard paused else { return }
        queue.asyncAfter(deadline: .now() + delay) { [self] in resumeAccepting() }
    }

    private func resumeAccepting() {
        state.withLock { resumeIfRoom(&$0) }
    }

    private func resumeIfRoom(_ state: inout State) {
        guard state.paused, !state.stopped, state.open < limits.total, state.settling < Self.maxSettling else { return }
        state.paused = false
        state.accepting?.source.resume()
    }

    /// A connection is past its first read, or was given time enough for it.
    fileprivate func connectionSettled() {
        state.withLock { state in
            state.settling -= 1
            resumeIfRoom(&state)
        }
    }

    /// A connection of `uid` closed (its ticket was released).
    fileprivate func connectionClosed(uid: UInt32) {
        let drained = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.open -= 1
            let mine = state.perUID[uid, default: 1] - 1
            state.perUID[uid] = mine > 0 ? mine : nil
            resumeIfRoom(&state)
            guard state.stopped, state.open == 0 else { return nil }
            defer { state.drained = nil }
            return state.drained
        }
        drained?.resume()
    }

    /// Stops accepting and closes the listening socket.
    func stop() {
        state.withLock { state in
            guard !state.stopped else { return }
            state.stopped = true
            if let accepting = state.accepting {
                // A suspended source must be resumed before it can be cancelled.
                if state.paused { accepting.source.resume() }
                accepting.source.cancel()
            }
            state.accepting = nil
        }
    }

    /// Ends a wait in `drained()` at once (the server was cancelled).
    func stopWaitingForDrain() {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.drained = nil }
            state.drainCancelled = true
            return state.drained
        }
        waiting?.resume()
    }

    /// Returns once every connection has closed; call after `stop()`.
    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if state.open == 0 || state.drainCancelled { return true }
                state.drained = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// One accepted connection's place in the listener's count: released once, when the connection closes, wherever it
/// is then (in SwiftNIO or parked).
final class ConnectionTicket: Sendable {
    private let listener: UnixListener
    private let settled = Atomic(false)
    private let released = Atomic(false)
    /// The peer's uid, as read when the connection was accepted.
    let uid: UInt32
    /// The per-uid limit this connection is over, or nil: such a connection's first request is answered
    /// `too_many_connections`, and the connection closes.
    let refusal: Int?

    fileprivate init(listener: UnixListener, uid: UInt32, refusal: Int?) {
        self.listener = listener
        self.uid = uid
        self.refusal = refusal
    }

    /// The connection is set up (its first read was handled, or it had its time); later calls do nothing.
    func settle() {
        if !settled.exchange(true, ordering: .relaxed) { listener.connectionSettled() }
    }

    /// The connection closed; later calls do nothing.
    func release() {
        settle()
        if !released.exchange(true, ordering: .relaxed) { listener.connectionClosed(uid: uid) }
    }
}

/// How many connections the local API serves at once.
struct ConnectionLimits: Sendable {
    /// In all (`queue.max_connections`); more wait in the listen backlog.
    var total: Int
    /// Per peer uid (`socket.max_connections_per_uid`); more are refused.
    var perUID: Int
}

/// A dispatch read source that can be kept in a `Mutex` and used from any thread.
///
/// `@unchecked Sendable` is safe: a dispatch source is a libdispatch object, and libdispatch's object calls used
/// here (`resume`, `suspend`, `cancel`) are thread-safe by contract (dispatch/object.h: dispatch objects may be
/// used from any thread); the Swift overlay only lacks the annotation. Its handlers are set before it is shared.
struct ReadSource: @unchecked Sendable {
    let source: any DispatchSourceRead

    init(_ source: any DispatchSourceRead) {
        self.source = source
    }
}
