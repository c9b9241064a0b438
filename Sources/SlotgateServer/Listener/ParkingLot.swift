//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Dispatch
import HTTPTypes
import NIOCore
import SlotgateCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Connections whose request to take a slot waits in the gatekeeper, held as bare sockets.
///
/// A parked long-poll needs nothing from its connection but to hear the client hang up and to write one answer.
/// Kept as a SwiftNIO channel it costs about 5 KiB (the channel, its pipeline and handlers, the HTTP decoder, the
/// write queue); here it is its descriptor, a dispatch read source that notices the hang-up, and an entry: about
/// 0.5 KiB, so 10,000 waiters fit in a few MiB. ``APIConnectionHandler`` moves a connection here once the request
/// is read and checked; the lot queues it with a callback, answers it (201 with the lease, or the documented
/// error, then `Connection: close`) and closes it.
///
/// A client that hangs up (end of stream or an error on read) withdraws its request; a grant whose answer cannot
/// be written, or that arrives after the client left, goes back to the gatekeeper (`undeliverable`).
final class ParkingLot: Sendable {
    private struct Entry {
        let descriptor: CInt
        let source: ReadSource
        let ticket: ConnectionTicket
        var lease: LeaseID?
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var next: UInt64 = 0
    }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "slotgate.parked")
    private let gatekeeper: any SlotKeeper
    private let metrics: SlotgateMetrics

    init(gatekeeper: any SlotKeeper, metrics: SlotgateMetrics) {
        self.gatekeeper = gatekeeper
        self.metrics = metrics
    }

    /// The number of parked connections.
    var count: Int { state.withLock { $0.entries.count } }

    /// Takes over `descriptor`, a connected socket whose request was read whole, and queues `request`. The lot
    /// owns the descriptor from now on and closes it after the answer or when the client hangs up.
    /// - Parameters:
    ///   - descriptor: the connection's socket (non-blocking).
    ///   - request: the checked request.
    ///   - ticket: the connection's place in the listener's count, released when the lot closes it.
    func park(_ descriptor: CInt, request: AcquireRequest, ticket: ConnectionTicket) {
        let token = state.withLock { state -> UInt64 in
            state.next += 1
            return state.next
        }
        let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        source.setEventHandler { [self] in readable(token) }
        // A dispatch source's descriptor may be closed only once the source is cancelled.
        source.setCancelHandler {
            close(descriptor)
            ticket.release()
        }
        let entry = Entry(descriptor: descriptor, source: ReadSource(source), ticket: ticket)
        state.withLock { $0.entries[token] = entry }
        entry.source.source.resume()
        let gatekeeper = self.gatekeeper
        Task {
            let id = await gatekeeper.submit(request) { [self] outcome in decided(token, outcome) }
            queued(token, id)
        }
    }

    /// The gatekeeper took the request under `id`. If the client left (or the answer went out) meanwhile, the
    /// request is withdrawn (a request already answered is left alone by the gatekeeper).
    private func queued(_ token: UInt64, _ id: LeaseID) {
        let present = state.withLock { state -> Bool in
            guard state.entries[token] != nil else { return false }
            state.entries[token]?.lease = id
            return true
        }
        if !present {
            let gatekeeper = self.gatekeeper
            Task { await gatekeeper.withdraw(request: id) }
        }
    }

    /// The client sent something or went away: what it sends is dropped; end of stream or an error is a hang-up.
    private func readable(_ token: UInt64) {
        guard let descriptor = state.withLock({ $0.entries[token]?.descriptor }) else { return }
        guard Self.drain(descriptor) else { return }
        guard let entry = state.withLock({ $0.entries.removeValue(forKey: token) }) else { return }
        entry.source.source.cancel()
        if let id = entry.lease {
            let gatekeeper = self.gatekeeper
            Task { await gatekeeper.withdraw(request: id) }
        }
    }

    /// Reads and drops what is waiting on `descriptor`; true when the client hung up.
    private static func drain(_ descriptor: CInt) -> Bool {
        var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while true {
            let count = withUnsafeMutableBytes(of: &scratch) { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 { continue }
            if count == 0 { return true }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return false
            default: return true
            }
        }
    }

    /// The gatekeeper decided: the answer is written and the connection closed. Runs on the gatekeeper's actor; the
    /// write is one small non-blocking send on a socket that has sent nothing before.
    private func decided(_ token: UInt64, _ outcome: Result<Lease, GatekeeperError>) {
        guard let entry = state.withLock({ $0.entries.removeValue(forKey: token) }) else {
            if case .success(let lease) = outcome { giveBack(lease) }
            return
        }
        let answer = Self.answer(outcome)
        // What the client sent after its request is read first: closing a Unix socket with unread data resets it.
        let hungUp = Self.drain(entry.descriptor)
        let sent =
            hungUp
            ? -1
            : answer.withUnsafeBytes { send(entry.descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        entry.source.source.cancel()
        guard case .success(let lease) = outcome else { return }
        if sent == answer.count {
            metrics.granted(after: lease.waited)
        } else {
            giveBack(lease)
        }
    }

    private func giveBack(_ lease: Lease) {
        let gatekeeper = self.gatekeeper
        Task { await gatekeeper.undeliverable(lease.id) }
    }

    /// The whole HTTP/1.1 answer: 201 with the lease, or the error's status and body; the connection closes.
    static func answer(_ outcome: Result<Lease, GatekeeperError>) -> [UInt8] {
        let (head, body) = JSONResponse.acquireAnswer(outcome, closing: true)
        var text = "HTTP/1.1 \(head.status.code) \(head.status.reasonPhrase)\r\n"
        for field in head.headerFields { text += "\(field.name.rawName): \(field.value)\r\n" }
        text += "Content-Length: \(body.readableBytes)\r\nDate: \(APIConnectionHandler.httpDate())\r\nServer: slotgate\r\n\r\n"
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: body.readableBytesView)
        return bytes
    }
}
