//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOPosix
import SlotgateCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What answers a connection's requests: the router, and the gatekeeper directly for requests to take a slot.
/// One for the server, shared by every connection's handler.
final class APIAnswering: Sendable {
    /// What the routes need.
    let api: APIContext
    /// Runs the router on a request; errors become their documented answers.
    let respond: @Sendable (Request, any Channel) async -> Response

    /// Where connections whose request waits for a slot are kept.
    let parked: ParkingLot

    /// Request tasks run on the event loop of their connection.
    let executors = EventLoopTaskExecutors(MultiThreadedEventLoopGroup.singleton)

    init(api: APIContext) {
        let responder = buildAPIRouter(api).buildResponder()
        let logger = api.logger
        self.api = api
        self.parked = ParkingLot(gatekeeper: api.gatekeeper, metrics: api.metrics)
        self.respond = { request, channel in
            let context = SlotgateRequestContext(source: .init(channel: channel, logger: logger))
            do {
                return try await responder.respond(to: request, context: context)
            } catch let error as any HTTPResponseError {
                if let response = try? error.response(from: request, context: context) { return response }
            } catch {
                logger.error("unexpected error answering a request", metadata: ["error": "\(error)"])
            }
            return APIError(.internalServerError, "internal", "The daemon failed to answer; see its log.").answerResponse
        }
    }
}

/// The last handler of a connection of the local API: it collects each request (head and body, within the
/// path's body limit), answers it, and only then reads the next one.
///
/// `POST /v1/leases` (not streamed) is answered here: the request is queued in the gatekeeper with a callback and
/// nothing else is kept while it waits, not even a task, so 10,000 parked requests cost little more than their
/// connections. The client hanging up (its socket closed or half-closed, an error) withdraws the request; a grant
/// that arrives for a client already gone is given back. Every other request runs the router in a task of its own,
/// which ends with the answer. All of it runs on the channel's event loop.
final class APIConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// A request's head came; its body is being collected.
        case reading(head: HTTPRequest, body: ByteBuffer?, limit: Int)
        /// The request is being answered; `closing` closes the connection after the answer.
        case answering(closing: Bool)
        /// Answered before the request was read whole (a parse error, a body over the limit): the connection
        /// closes once the answer is written, and nothing more is read.
        case refused
    }

    /// A request to take a slot, parked in the gatekeeper.
    private enum Parking {
        /// None.
        case none
        /// Handed to the gatekeeper; its id is not known here yet.
        case submitting
        /// Queued under this id.
        case queued(LeaseID)
    }

    private let answering: APIAnswering
    /// The connection's socket; SwiftNIO owns it until the connection moves to the parking lot.
    private let descriptor: CInt
    /// The connection's place in the listener's count.
    private let ticket: ConnectionTicket
    /// The connection moved to the parking lot: the channel closed, the connection did not.
    private var moved = false
    private var state = State.idle
    private var parking = Parking.none
    /// Parts of requests sent before the current one was answered (pipelining); read once it is.
    private var pipelined: [HTTPRequestPart] = []
    /// A read was held back while pipelined parts wait.
    private var readHeld = false
    /// A request after the one being answered could not be parsed: its answer, once those before it have theirs.
    private var malformedNext: APIError?
    /// The client closed or half-closed its side, or the connection failed: it sends nothing more.
    private var clientGone = false
    /// The connection closed or failed: nothing can be written to it either (a half-close leaves it writable).
    private var outputGone = false
    /// The request being answered tries once (`wait_s` 0): its answer comes at once, so a half-close after it
    /// still gets it (`printf … | nc -N`); a request that waits is withdrawn by a half-close, like a hang-up.
    private var answersAtOnce = false
    private var context: ChannelHandlerContext?

    init(answering: APIAnswering, descriptor: CInt, ticket: ConnectionTicket) {
        self.answering = answering
        self.descriptor = descriptor
        self.ticket = ticket
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // A client that connects and sends nothing does not hold up the accepting of others for long.
        let ticket = self.ticket
        context.eventLoop.scheduleTask(in: .milliseconds(20)) { ticket.settle() }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        ticket.settle()
        context.fireChannelReadComplete()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        if !moved { ticket.release() }
    }

    // MARK: Reading requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data), context: context)
    }

    private func receive(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.answering, _):
            pipelined.append(part)
        case (.refused, _):
            break
        case (.idle, .head(let head)):
            let limit = APIErrorMiddleware<SlotgateRequestContext>.bodyLimit(URI(head.path ?? "").path)
            if let perUID = ticket.refusal {
                refuse(APIError.tooManyConnections(uid: ticket.uid, limit: perUID), context: context)
            } else if let declared = head.headerFields[.contentLength].flatMap({ Int($0) }), declared > limit {
                refuse(APIError.bodyTooLarge(limit: limit), context: context)
            } else if Self.hasOtherTransferCoding(head) {
                // The parser reads a body whose last coding is chunked; any other coding would be left undone, and
                // the body read as it came (`gzip, chunked` as JSON).
                refuse(APIError.badRequest("The request's Transfer-Encoding must be chunked alone."), context: context)
            } else {
                state = .reading(head: head, body: nil, limit: limit)
            }
        case (.idle, _):
            // The end of a request refused earlier on this connection cannot arrive (it closes): nothing to do.
            break
        case (.reading(let head, var body, let limit), .body(let part)):
            // The state lets go of the body first, so that it grows in place.
            state = .idle
            if body == nil {
                body = part
            } else {
                body?.writeImmutableBuffer(part)
            }
            if let body, body.readableBytes > limit {
                refuse(APIError.bodyTooLarge(limit: limit), context: context)
            } else {
                state = .reading(head: head, body: body, limit: limit)
            }
        case (.reading(let head, let body, _), .end):
            answer(head, body: body ?? context.channel.allocator.buffer(capacity: 0), context: context)
        case (.reading, .head):
            // The decoder never sends a head before the previous request's end.
            refuse(APIError.badRequest("A request started before the previous one ended."), context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        // While pipelined requests wait, read no more: they are answered in order, one at a time.
        if case .answering = state, !pipelined.isEmpty {
            readHeld = true
        } else {
            context.read()
        }
    }

    // MARK: The client going away

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { clientHungUp(context: context, canWrite: true) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientHungUp(context: context, canWrite: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError {
            switch state {
            case .idle, .reading:
                // The documented answer to a request HTTP/1.1 cannot parse, then the connection closes.
                refuse(APIError.badRequest(ParseErrorAnswerHandler.message(for: error)), context: context)
            case .answering:
                // A later request on the connection is malformed: it is answered after the requests before it.
                malformedNext = APIError.badRequest(ParseErrorAnswerHandler.message(for: error))
            case .refused:
                break
            }
            return
        }
        if case ByteToMessageDecoderError.dataReceivedInErrorState = error {
            // Bytes after a request that cannot be parsed: they are dropped. That request is answered 400 once those
            // before it are answered (above), then the connection closes.
            return
        }
        clientHungUp(context: context, canWrite: false)
        context.close(promise: nil)
    }

    /// The client cannot send more: it half-closed its socket (`canWrite`), or closed it, or the connection
    /// failed. A request that waits for a slot is withdrawn; any other request being answered is answered (when
    /// the connection can still be written), then the connection closes.
    private func clientHungUp(context: ChannelHandlerContext, canWrite: Bool) {
        guard !moved else { return }
        if !canWrite { outputGone = true }
        guard !clientGone else { return }
        clientGone = true
        switch state {
        case .idle:
            context.close(promise: nil)
        case .reading:
            // The decoder reports the request cut short as a parse error, which answers it.
            break
        case .answering:
            // A request answered at once (any but one that waits for a slot) is answered, and so are the complete
            // requests the client pipelined before it half-closed; then the connection closes (`writeEnd`).
            if canWrite, answersAtOnce || Self.isNone(parking) { break }
            state = .answering(closing: true)
            if case .queued(let id) = parking {
                parking = .none
                let gatekeeper = answering.api.gatekeeper
                Task { await gatekeeper.withdraw(request: id) }
            }
        case .refused:
            break
        }
    }

    // MARK: Answering

    private func answer(_ head: HTTPRequest, body: ByteBuffer, context: ChannelHandlerContext) {
        // After a half-close the connection closes once the last request sent is answered (`writeEnd`). After a
        // request to upgrade the parser reads nothing more: the answer says the connection closes, and it does.
        state = .answering(closing: !canWrite || Self.asksToClose(head) || Self.asksToUpgrade(head))
        answersAtOnce = false
        if Self.takesSlot(head) {
            park(body, context: context)
            return
        }
        let request = Request(head: head, body: RequestBody(buffer: body))
        let channel = context.channel
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let answering = self.answering
        Task(executorPreference: answering.executors.executor(for: eventLoop)) {
            let response = await answering.respond(request, channel)
            await APIConnectionHandler.write(response, through: handler, on: eventLoop)
        }
    }

    /// `POST /v1/leases` without a streamed answer: answered here, not by a route.
    private static func takesSlot(_ head: HTTPRequest) -> Bool {
        guard head.method == .post, let path = head.path else { return false }
        let uri = URI(path)
        guard uri.path == "/v1/leases" else { return false }
        if let stream = uri.queryParameters["stream"], stream == "1" || stream == "true" { return false }
        return head.headerFields[.accept]?.contains("application/x-ndjson") != true
    }

    private static func asksToClose(_ head: HTTPRequest) -> Bool {
        head.headerFields[values: .connection].contains { $0.lowercased().contains("close") }
    }

    /// A request the parser takes as an upgrade (CONNECT, or `Connection: upgrade` with `Upgrade`): it parses
    /// nothing after it on the connection. The daemon upgrades to nothing (RFC 9110 §7.8 lets it ignore the header).
    private static func asksToUpgrade(_ head: HTTPRequest) -> Bool {
        if head.method == .connect { return true }
        return head.headerFields[.upgrade] != nil && head.headerFields[values: .connection].contains { $0.lowercased().contains("upgrade") }
    }

    /// A `Transfer-Encoding` other than `chunked` alone (`gzip, chunked`, `chunked, chunked`).
    private static func hasOtherTransferCoding(_ head: HTTPRequest) -> Bool {
        let codings = head.headerFields[values: .transferEncoding].flatMap { $0.split(separator: ",") }
        return codings.contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() != "chunked" } || codings.count > 1
    }

    /// Queues a request to take a slot and answers it when the gatekeeper decides: 201 with the lease, or the
    /// error. A request that waits (`wait_s` above 0) closes the connection after its answer, which says so.
    private func park(_ body: ByteBuffer, context: ChannelHandlerContext) {
        let channel = context.channel
        let peer = PeerCredentialsRecorder.credentials(of: channel) ?? PeerCredentials.readOnEventLoop(channel)
        let wanted: AcquireRequest
        do {
            wanted = try LeaseRequest.parse(body).acquire(peer: peer ?? .unreadable)
        } catch {
            writeAnswer(error.answer, context: context)
            return
        }
        let closing = wanted.wait.map { $0 > .zero } ?? true
        answersAtOnce = !closing
        if closing { state = .answering(closing: true) }
        if closing, !clientGone, moveToParkingLot(wanted, context: context) { return }
        parking = .submitting
        let eventLoop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        let gatekeeper = answering.api.gatekeeper
        Task(executorPreference: answering.executors.executor(for: eventLoop)) {
            let id = await gatekeeper.submit(wanted) { outcome in
                eventLoop.execute { handler.value.decided(outcome) }
            }
            eventLoop.execute { handler.value.queued(id) }
        }
    }

    /// Hands the connection, whose request waits, to the parking lot: its socket is duplicated, the channel closes
    /// (SwiftNIO stops watching and closes its descriptor; the connection lives on in the duplicate) and the lot
    /// queues the request. False, and nothing changed, when the socket cannot be duplicated.
    private func moveToParkingLot(_ wanted: AcquireRequest, context: ChannelHandlerContext) -> Bool {
        let duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else { return false }
        moved = true
        ticket.settle()
        context.close(promise: nil)
        answering.parked.park(duplicate, request: wanted, ticket: ticket)
        return true
    }

    /// The gatekeeper took the request under `id`.
    private func queued(_ id: LeaseID) {
        guard case .submitting = parking else { return }  // answered already
        if clientGone, outputGone || !answersAtOnce {
            parking = .none
            let gatekeeper = answering.api.gatekeeper
            Task { await gatekeeper.withdraw(request: id) }
        } else {
            parking = .queued(id)
        }
    }

    /// The gatekeeper decided the parked request.
    private func decided(_ outcome: Result<Lease, GatekeeperError>) {
        parking = .none
        let deliverable = !outputGone && (!clientGone || answersAtOnce)
        guard let context, deliverable else {
            if case .success(let lease) = outcome {
                // Nobody is there to use it: the slot goes on at once.
                let gatekeeper = answering.api.gatekeeper
                Task { await gatekeeper.undeliverable(lease.id) }
            }
            // A client that half-closed is not left with an open connection.
            context?.close(promise: nil)
            return
        }
        let closing = if case .answering(closing: true) = state { true } else { false }
        if case .success(let lease) = outcome { answering.api.metrics.granted(after: lease.waited) }
        writeAnswer(JSONResponse.acquireAnswer(outcome, closing: closing), context: context)
    }

    /// Answers before the request is read whole, and closes the connection after.
    private func refuse(_ error: APIError, context: ChannelHandlerContext) {
        state = .refused
        var answer = error.answer
        answer.head.headerFields[.connection] = "close"
        writeAnswer(answer, context: context)
    }

    /// Writes a whole answer whose body is at hand.
    private func writeAnswer(_ answer: (head: HTTPResponse, body: ByteBuffer), context: ChannelHandlerContext) {
        var head = answer.head
        head.headerFields[.contentLength] = String(answer.body.readableBytes)
        writeAnswer(head: head, body: [answer.body], context: context)
    }

    private func writeAnswer(head: HTTPResponse, body: [ByteBuffer], context: ChannelHandlerContext) {
        writeHead(head, context: context)
        for buffer in body where buffer.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(buffer)), promise: nil)
        }
        writeEnd(nil, context: context)
    }

    private func writeHead(_ head: HTTPResponse, context: ChannelHandlerContext) {
        // An answer that says `Connection: close` (a 413, a proxied create) closes the connection after it.
        if head.headerFields[.connection]?.lowercased() == "close", case .answering = state { state = .answering(closing: true) }
        var head = head
        // An answer after which the connection closes says so (RFC 9112 §9.6).
        if case .answering(closing: true) = state { head.headerFields[.connection] = "close" }
        head.headerFields[.date] = Self.httpDate()
        head.headerFields[.server] = "slotgate"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    /// Ends the answer; then the connection closes, or the next request is read.
    private func writeEnd(_ trailers: HTTPFields?, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        let closing: Bool
        switch state {
        case .answering(let close): closing = close
        case .refused: closing = true
        case .idle, .reading: closing = false
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        if let promise { written.futureResult.cascade(to: promise) }
        context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: written)
        if closing {
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            if case .answering = state { state = .refused }
            pipelined.removeAll()
            return
        }
        state = .idle
        while !pipelined.isEmpty, !Self.isAnswering(state) {
            receive(pipelined.removeFirst(), context: context)
        }
        if pipelined.isEmpty, !Self.isAnswering(state), let malformed = malformedNext {
            malformedNext = nil
            refuse(malformed, context: context)
            return
        }
        if clientGone, case .idle = state {
            // Every request the client sent before it half-closed is answered.
            state = .refused
            context.close(promise: nil)
            return
        }
        if readHeld, pipelined.isEmpty {
            readHeld = false
            context.read()
        }
    }

    /// The connection can still be written: it was not closed, and did not fail.
    private var canWrite: Bool { !outputGone }

    private static func isNone(_ parking: Parking) -> Bool {
        if case .none = parking { return true }
        return false
    }

    private static func isAnswering(_ state: State) -> Bool {
        switch state {
        case .answering, .refused: true
        case .idle, .reading: false
        }
    }

    // MARK: Answers from routes (in their task)

    /// Writes a route's answer: a body of known length in one turn of the event loop, a streamed one part by part
    /// as the route writes it.
    private static func write(_ response: Response, through handler: NIOLoopBound<APIConnectionHandler>, on eventLoop: any EventLoop) async {
        let head = response.head
        if response.body.contentLength != nil {
            let collected = CollectedBody()
            try? await response.body.write(CollectingBodyWriter(collected: collected))
            let buffers = collected.buffers
            eventLoop.execute {
                guard let context = handler.value.context else { return }
                handler.value.writeAnswer(head: head, body: buffers, context: context)
            }
            return
        }
        eventLoop.execute {
            guard let context = handler.value.context else { return }
            handler.value.writeHead(head, context: context)
            context.flush()
        }
        do {
            try await response.body.write(StreamingBodyWriter(handler: handler, eventLoop: eventLoop))
        } catch {
            // The route gave up (its client is gone, or it failed halfway): the answer cannot be completed.
            eventLoop.execute { handler.value.context?.close(promise: nil) }
        }
    }

    fileprivate func writeBodyPart(_ buffer: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        // A client that half-closed still reads its answer; one whose connection closed or failed does not.
        guard let context, canWrite else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.body(buffer)), promise: promise)
        return promise.futureResult
    }

    fileprivate func endStreamedAnswer(_ trailers: HTTPFields?, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard let context else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        writeEnd(trailers, context: context, promise: promise)
        return promise.futureResult
    }

    /// The last `Date` value and its second: formatted once a second, not once an answer.
    private static let lastDate = Mutex<(second: time_t, text: String)>((0, ""))

    /// Now as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate() -> String {
        var now = time(nil)
        if let cached = lastDate.withLock({ $0.second == now ? $0.text : nil }) { return cached }
        let text = formatDate(&now)
        lastDate.withLock { $0 = (now, text) }
        return text
    }

    private static func formatDate(_ now: inout time_t) -> String {
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The buffers of a body of known length, collected in the route's task.
private final class CollectedBody {
    var buffers: [ByteBuffer] = []
}

private struct CollectingBodyWriter: ResponseBodyWriter {
    let collected: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        collected.buffers.append(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// Writes a streamed body part by part; a write fails once the client is gone.
private struct StreamingBodyWriter: ResponseBodyWriter {
    let handler: NIOLoopBound<APIConnectionHandler>
    let eventLoop: any EventLoop

    mutating func write(_ buffer: ByteBuffer) async throws {
        let eventLoop = self.eventLoop
        try await eventLoop.flatSubmit { [handler] in handler.value.writeBodyPart(buffer, on: eventLoop) }.get()
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        let eventLoop = self.eventLoop
        try await eventLoop.flatSubmit { [handler] in handler.value.endStreamedAnswer(trailingHeaders, on: eventLoop) }.get()
    }
}
