//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import SlotgateCore

/// `/v1/leases`: take a slot (long-poll, try-once or streamed), list, get, bind, renew, release.
struct LeaseRoutes {
    let api: APIContext

    func register(on router: Router<SlotgateRequestContext>) {
        router.post("/v1/leases") { request, context in try await acquire(request, context) }
        router.get("/v1/leases") { request, _ in try await list(request) }
        router.get("/v1/leases/:id") { _, context in try await get(context) }
        router.post("/v1/leases/:id/session") { request, context in try await bind(request, context) }
        router.post("/v1/leases/:id/renew") { request, context in try await renew(request, context) }
        router.delete("/v1/leases/:id") { request, context in try await release(request, context) }
    }

    // MARK: Take a slot

    // A waiting request keeps its task's async frames (and the allocator slabs they took) for as long as it waits,
    // 10,000 of them at once: `acquire` keeps only small values across its awaits, the body is read and checked in
    // `acquireRequest`, the answer is built by the synchronous `answer`, and the wait itself runs in
    // `waitForSlot`.

    private func acquire(_ request: Request, _ context: SlotgateRequestContext) async throws -> Response {
        // The request keeps its collected body: a streamed answer watches what comes after it on the connection.
        var request = request
        let wanted = try await Self.acquireRequest(&request, channel: context.channel)
        if Self.wantsStream(request) {
            return streamed(wanted, channel: context.channel)
        }
        // A try-once request answers at once and keeps the connection alive. A waiting one closes it after the
        // answer, which says `Connection: close` so that pooled clients do not reuse it.
        guard wanted.wait.map({ $0 > .zero }) ?? true else {
            return answer(await api.gatekeeper.acquire(wanted), closing: false)
        }
        return answer(await waitForSlot(wanted, channel: context.channel), closing: true)
    }

    /// The checked body of `POST /v1/leases`, with the credentials of the process that sent it.
    private static func acquireRequest(_ request: inout Request, channel: any Channel) async throws -> AcquireRequest {
        let parsed = try LeaseRequest.parse(try await request.readBody(upTo: APILimits.bodyBytes))
        let peer = await PeerCredentials.of(channel)
        return parsed.acquire(peer: peer)
    }

    /// Queues `wanted` and waits for its outcome in a small task of its own, cancelled when the client hangs up
    /// (which takes the request out of the queue).
    ///
    /// It is queued from a short-lived task: a task keeps the allocator slabs of its deepest async call until it
    /// ends, and queueing runs the gatekeeper's bookkeeping (about 10 KiB of async frames), which the request's
    /// task would otherwise keep for as long as the request waits.
    private func waitForSlot(_ wanted: AcquireRequest, channel: any Channel) async -> Result<Lease, GatekeeperError> {
        let gatekeeper = api.gatekeeper
        let id = await Task { await gatekeeper.submit(wanted) }.value
        return await waitCancellingOnHangUp(channel: channel) { await gatekeeper.outcome(of: id) }
    }

    /// The answer to `POST /v1/leases` as a response. Not inlined, so its temporaries (a lease, its JSON) stay on
    /// the thread's stack instead of widening the async frame of `acquire`.
    @inline(never)
    private func answer(_ result: Result<Lease, GatekeeperError>, closing: Bool) -> Response {
        if case .success(let lease) = result { api.metrics.granted(after: lease.waited) }
        return Response(answer: JSONResponse.acquireAnswer(result, closing: closing))
    }

    private static func wantsStream(_ request: Request) -> Bool {
        if let stream = request.uri.queryParameters["stream"], stream == "1" || stream == "true" { return true }
        return request.headers[.accept]?.contains("application/x-ndjson") == true
    }

    /// Answers 200 at once and writes NDJSON events: `queued` with the position whenever it changes (and at least
    /// every 15 s), then `granted` with the lease or `error`.
    ///
    /// The client going away is noticed at once, as for a long-poll: its request body was read, so what is left of
    /// the connection's inbound stream only tells when it closes, and that cancels the wait (the gatekeeper takes
    /// the request out of the queue) instead of leaving a dead waiter in line until the next event fails to write.
    /// A grant whose event cannot be written is released, so the slot goes to the next waiter.
    @inline(never)
    private func streamed(_ wanted: AcquireRequest, channel: any Channel) -> Response {
        let gatekeeper = api.gatekeeper
        let metrics = api.metrics
        let body = ResponseBody { writer in
            let id = await gatekeeper.submit(wanted)
            let outcome = try await Self.waitReportingPosition(id, gatekeeper: gatekeeper, channel: channel, writer: &writer)
            switch outcome {
            case .success(let lease):
                do {
                    try Task.checkCancellation()
                    try await writer.write(Self.line(GrantedEvent(lease: LeaseJSON(lease))))
                } catch {
                    await gatekeeper.undeliverable(lease.id)
                    throw error
                }
                metrics.granted(after: lease.waited)
            case .failure(let error):
                try await writer.write(Self.line(ErrorEvent(error: .init(code: error.code, message: error.message))))
            }
            try await writer.finish(nil)
        }
        // The connection is closed after this answer (its inbound side was consumed): say so, like a long-poll.
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson", .connection: "close"], body: body)
    }

    /// Waits for the outcome of the queued request `id`, writing a `queued` event whenever its position changes and
    /// at least every 15 s. A failed write or the client hanging up (the connection's inbound side closing)
    /// cancels the wait, which takes the request out of the queue.
    private static func waitReportingPosition(
        _ id: LeaseID,
        gatekeeper: any SlotKeeper,
        channel: any Channel,
        writer: inout any ResponseBodyWriter
    ) async throws -> Result<Lease, GatekeeperError> {
        try await withThrowingTaskGroup(of: Result<Lease, GatekeeperError>?.self) { group in
            group.addTask { await gatekeeper.outcome(of: id) }
            group.addTask {
                await hangUp(of: channel)
                throw CancellationError()
            }
            var lastPosition: WaitPosition? = nil
            var version = await gatekeeper.currentQueueVersion
            var lastWrite = ContinuousClock.now
            while true {
                if let position = await gatekeeper.position(of: id),
                    lastPosition.map({ Self.changed($0, position) }) ?? true || ContinuousClock.now - lastWrite >= .seconds(15)
                {
                    lastPosition = position
                    lastWrite = ContinuousClock.now
                    do {
                        try await writer.write(line(QueuedEvent(id: id, position: position)))
                    } catch {
                        group.cancelAll()
                        throw error
                    }
                }
                // Wake on the outcome, a queue change, or the 15 s keep-alive, whichever comes first. The change and
                // the keep-alive race in one child that cancels the loser, so a busy queue does not pile up a
                // sleeping child (or a watcher) per turn of this loop.
                let seen = version
                group.addTask {
                    await withTaskGroup(of: Void.self) { wake in
                        wake.addTask { _ = await gatekeeper.queueChange(after: seen) }
                        wake.addTask { try? await Task.sleep(for: .seconds(15)) }
                        await wake.next()
                        wake.cancelAll()
                    }
                    return nil
                }
                if let next = try await group.next(), let result = next {
                    group.cancelAll()
                    return result
                }
                version = await gatekeeper.currentQueueVersion
            }
        }
    }

    /// Whether a waiter's standing changed enough for a new `queued` event: its place, the number waiting, or its
    /// estimate appearing or moving by more than a tenth (and a second).
    private static func changed(_ old: WaitPosition, _ new: WaitPosition) -> Bool {
        if old.position != new.position || old.waiting != new.waiting { return true }
        switch (old.eta, new.eta) {
        case (nil, nil): return false
        case (let before?, let now?):
            let moved = before > now ? before - now : now - before
            return moved > .seconds(1) && moved * 10 > before
        default: return true
        }
    }

    /// `{"event": "queued", "id", "position", "waiting", "eta_s"}`: the id is the waiting request's lease id (for
    /// `GET /v1/leases/{id}`); `eta_s` is null when there is no history.
    private struct QueuedEvent: Encodable {
        var id: LeaseID
        var position: WaitPosition

        private enum Keys: String, CodingKey {
            case event, id, position, waiting
            case etaS = "eta_s"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("queued", forKey: .event)
            try container.encode(id.rawValue, forKey: .id)
            try container.encode(position.position, forKey: .position)
            try container.encode(position.waiting, forKey: .waiting)
            try container.encode(LeaseJSON.etaSeconds(position.eta), forKey: .etaS)
        }
    }

    private struct GrantedEvent: Encodable {
        var event = "granted"
        var lease: LeaseJSON
    }

    private struct ErrorEvent: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
        }
        var event = "error"
        var error: Detail
    }

    private static func line(_ value: some Encodable) -> ByteBuffer {
        let data = (try? JSONEncoder().encode(value)) ?? Data("{}".utf8)
        var buffer = ByteBuffer(bytes: data)
        buffer.writeString("\n")
        return buffer
    }

    // MARK: Listing

    /// `GET /v1/leases`; with `?all=1`, also the ended leases still in the store (for `slotgate leases --all`).
    private func list(_ request: Request) async throws -> Response {
        var (leases, waiters) = await api.gatekeeper.listing()
        let now = api.clock.now
        if let all = request.uri.queryParameters["all"], all == "1" || all == "true", let history = api.history {
            // The gatekeeper's copy is the newest; the store adds what the gatekeeper no longer holds.
            var byID = Dictionary(leases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let stored: [Lease]
            do {
                stored = try await history()
            } catch {
                api.logger.error("could not read the lease ledger", metadata: ["error": "\(error)"])
                throw APIError(GatekeeperError.stateUnwritable)
            }
            for lease in stored where byID[lease.id] == nil { byID[lease.id] = lease }
            leases = byID.values.sorted { $0.id < $1.id }
        }
        let answer = LeaseListJSON(
            leases: leases.map { LeaseJSON($0) },
            waiting: waiters.enumerated().map { WaiterJSON($0.element, position: $0.offset + 1, now: now) }
        )
        return try JSONResponse.make(.ok, answer)
    }

    private func get(_ context: SlotgateRequestContext) async throws -> Response {
        let id = try leaseID(context)
        guard let lease = await api.gatekeeper.lease(id) else {
            throw APIError(GatekeeperError.leaseNotFound(id.rawValue))
        }
        guard lease.state == .waiting else { return JSONResponse.lease(.ok, lease) }
        // A waiting request shows its estimated wait; one granted meanwhile shows as it is now.
        guard let position = await api.gatekeeper.position(of: id) else {
            guard let now = await api.gatekeeper.lease(id), now.state != .waiting else { throw APIError(GatekeeperError.leaseNotFound(id.rawValue)) }
            return JSONResponse.lease(.ok, now)
        }
        return JSONResponse.lease(.ok, lease, eta: position.eta)
    }

    // MARK: Changing a lease

    private func bind(_ request: Request, _ context: SlotgateRequestContext) async throws -> Response {
        var request = request
        let id = try leaseID(context)
        let object = try JSONValue.object(from: try await request.readBody(upTo: APILimits.bodyBytes))
        for key in object.keys.sorted() where key != "session_id" {
            throw APIError.badRequest("Unknown field '\(key)'; the body is {\"session_id\": \"...\"}.")
        }
        guard case .string(let session) = object["session_id"] ?? .null, !session.isEmpty, session.utf8.count <= 255 else {
            throw APIError.badRequest("session_id must be a non-empty string of at most 255 bytes.")
        }
        try await authorize(.bind, id, context)
        try await checkSessionScope(session, context)
        let lease: Lease
        do {
            lease = try await api.gatekeeper.bind(id, to: session)
        } catch {
            throw APIError(error)
        }
        return JSONResponse.lease(.ok, lease)
    }

    private func renew(_ request: Request, _ context: SlotgateRequestContext) async throws -> Response {
        var request = request
        let id = try leaseID(context)
        _ = try JSONValue.object(from: try await request.readBody(upTo: APILimits.bodyBytes))
        try await authorize(.renew, id, context)
        let lease: Lease
        do {
            lease = try await api.gatekeeper.renew(id)
        } catch {
            throw APIError(error)
        }
        return JSONResponse.lease(.ok, lease)
    }

    private func release(_ request: Request, _ context: SlotgateRequestContext) async throws -> Response {
        let id = try leaseID(context)
        let flag = request.uri.queryParameters["cancel_session"].map(String.init)
        let cancel: Bool
        switch flag {
        case nil, "0", "false": cancel = false
        case "1", "true", "": cancel = true
        default: throw APIError.badRequest("cancel_session must be 1 or 0.")
        }
        try await authorize(cancel ? .cancelSession : .release, id, context)
        let lease: Lease
        do {
            lease = try await api.gatekeeper.release(id, cancelSession: cancel)
        } catch {
            throw APIError(error)
        }
        return JSONResponse.lease(.ok, lease)
    }

    /// Refuses (403) a peer that is neither the lease's owner nor an admin. A lease's uid never changes, so the
    /// check holds for the change that follows; a lease that is gone or still waiting is left to that change's
    /// own answer (404, 409).
    private func authorize(_ action: LeaseAccess.Action, _ id: LeaseID, _ context: SlotgateRequestContext) async throws {
        guard let lease = await api.gatekeeper.lease(id) else { return }
        try api.access.check(action, on: lease, by: await PeerCredentials.of(context.channel), logger: api.logger)
    }

    /// With `proxy.session_scope: uid`, a lease may not be bound to a session another uid created through this
    /// daemon (the bind would make it the binder's): 403 unless the peer is an admin.
    private func checkSessionScope(_ session: String, _ context: SlotgateRequestContext) async throws {
        guard api.sessionScope == .uid, let owner = await api.gatekeeper.sessionOwners([session])[session] else { return }
        let peer = await PeerCredentials.of(context.channel)
        guard owner != peer.uid, !api.access.isAdmin(peer) else { return }
        throw APIError.forbidden(
            "Session \(session) belongs to uid \(owner)\(LeaseAccess.userName(owner).map { " (\($0))" } ?? ""); with proxy.session_scope: uid "
                + "only its creator, root or a member of socket.admin_group may bind it."
        )
    }

    private func leaseID(_ context: SlotgateRequestContext) throws -> LeaseID {
        let text = context.parameters.get("id") ?? ""
        guard let id = LeaseID(rawValue: text) else { throw APIError(GatekeeperError.leaseNotFound(text)) }
        return id
    }
}

/// JSON answers.
enum JSONResponse {
    /// The answer to `POST /v1/leases` (head without its length, and body): 201 with the lease, or the error's
    /// documented answer; `Connection: close` when `closing` (a request that waited closes its connection).
    /// The route, the connection handler and the parking lot all answer with it.
    static func acquireAnswer(_ outcome: Result<Lease, GatekeeperError>, closing: Bool) -> (head: HTTPResponse, body: ByteBuffer) {
        var answer: (head: HTTPResponse, body: ByteBuffer)
        switch outcome {
        case .success(let lease):
            answer = (HTTPResponse(status: .created, headerFields: [.contentType: "application/json"]), LeaseJSON(lease).text)
        case .failure(let error):
            answer = APIError(error).answer
        }
        if closing { answer.head.headerFields[.connection] = "close" }
        return answer
    }

    /// An answer carrying one lease (``LeaseJSON/text``).
    static func lease(_ status: HTTPResponse.Status, _ lease: Lease, eta: Duration? = nil, headers: HTTPFields = [:]) -> Response {
        var fields: HTTPFields = [.contentType: "application/json"]
        for field in headers { fields.append(field) }
        return Response(status: status, headers: fields, body: .init(byteBuffer: LeaseJSON(lease, eta: eta).text))
    }

    static func make(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) throws -> Response {
        var data = try JSONEncoder().encode(value)
        data.append(0x0A)
        var fields: HTTPFields = [.contentType: "application/json"]
        for field in headers { fields.append(field) }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
