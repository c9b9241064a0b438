//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import SlotgateCore
import SlotgateUpstream

/// The drop-in proxy: `POST /api/v2/sessions` queues for a slot, creates the session with the daemon's key and
/// binds the lease to it; every other `/api/v2/` request is forwarded unchanged with the daemon's credentials.
struct ProxyRoutes {
    let api: APIContext

    func register(on router: Router<SlotgateRequestContext>) {
        router.post("/api/v2/sessions") { request, context in try await create(request, context) }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/api/v2/**", method: method) { request, context in try await forward(request, context) }
        }
        // The router matches `/api/v2/sessions` to the create's node, not to `**`: its other methods (the SDK's
        // list_sessions is a GET) are forwarded from here.
        for method in [HTTPRequest.Method.get, .put, .patch, .delete] {
            router.on("/api/v2/sessions", method: method) { request, context in try await forward(request, context) }
        }
    }

    // MARK: Create

    private struct ProxyHeaders {
        var holder = ""
        var priority = 0
        var wait: Duration?
        var lease: LeaseID?
        var leaseText: String?
    }

    private static func parseHeaders(_ headers: HTTPFields) throws(APIError) -> ProxyHeaders {
        var parsed = ProxyHeaders()
        if let holder = headers[.slotgateHolder] {
            guard holder.count <= 128 else { throw .badRequest("Slotgate-Holder must be at most 128 characters.") }
            parsed.holder = holder
        }
        if let text = headers[.slotgatePriority] {
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (-10...10).contains(value) else {
                throw .badRequest("Slotgate-Priority must be an integer from -10 to 10.")
            }
            parsed.priority = value
        }
        if let text = headers[.slotgateWait] {
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, (0...86_400).contains(value) else {
                throw .badRequest("Slotgate-Wait must be a number of seconds from 0 to 86400.")
            }
            parsed.wait = .seconds(double: value)
        }
        if let text = headers[.slotgateLease] {
            parsed.leaseText = text
            parsed.lease = LeaseID(rawValue: text.trimmingCharacters(in: .whitespaces))
        }
        return parsed
    }

    private func create(_ request: Request, _ context: SlotgateRequestContext) async throws -> Response {
        guard let platform = api.platform else { throw APIError.upstreamError("No platform is configured.") }
        _ = try allowedPath(request)
        var request = request
        let options = try Self.parseHeaders(request.headers)
        let body = try await request.readBody(upTo: APILimits.proxyBodyBytes)
        let peer = await PeerCredentials.of(context.channel)
        let key = request.headers[.idempotencyKey] ?? UUID().uuidString.lowercased()
        let forwarded = HTTPHeaders(request.headers.map { ($0.name.rawName, $0.value) })
        // The client hanging up at any point (in the queue, or while the platform answers) cancels the exchange.
        // The connection closes after such a request, and every answer says so.
        do {
            var response = try await runCancellingOnHangUp(channel: context.channel) {
                try await exchange(platform: platform, options: options, body: body, peer: peer, key: key, forwarded: forwarded)
            }
            response.headers[.connection] = "close"
            return response
        } catch var error as APIError {
            error.extraHeaders[.connection] = "close"
            throw error
        }
    }

    // swift-format-ignore: FunctionParameterCount
    private func exchange(
        platform: AGPClient,
        options: ProxyHeaders,
        body: ByteBuffer,
        peer: PeerCredentials,
        key: String,
        forwarded: HTTPHeaders
    ) async throws -> Response {
        let gatekeeper = api.gatekeeper
        // The lease: one named by Slotgate-Lease, or a place in the queue.
        var lease: Lease
        if let text = options.leaseText {
            guard let id = options.lease, let named = await gatekeeper.lease(id), named.state != .waiting else {
                throw APIError(GatekeeperError.leaseNotFound(text))
            }
            try api.access.check(.create, on: named, by: peer, logger: api.logger)
            guard named.state == .granted else {
                throw APIError(GatekeeperError.leaseConflict(id, "a \(named.state.rawValue) lease cannot create a session"))
            }
            lease = named
        } else {
            let wanted = AcquireRequest(
                holder: options.holder,
                uid: peer.uid,
                gid: peer.gid,
                pid: peer.pid,
                priority: options.priority,
                wait: options.wait
            )
            switch await gatekeeper.acquire(wanted) {
            case .success(let granted): lease = granted
            case .failure(let error): throw APIError(error)
            }
            api.metrics.granted(after: lease.waited)
        }

        let deadline = lease.waitDeadline ?? api.clock.now.advanced(by: .seconds(30))
        while true {
            // The create runs in a task of its own: neither the client hanging up nor its wait running out stops a
            // create the platform may still commit. Until the platform's answer settles it, the lease neither
            // expires nor frees its slot (design.md "Slot accounting").
            let granted = lease
            // A lease the holder named waits again after a 429 as a new request would (Slotgate-Wait, else the
            // default wait), so the refusal does not end it.
            let named: GatekeeperStateMachine.CreateOutcome? = options.lease == nil ? nil : .rejectedTooManyRequestsNamed(wait: options.wait)
            let settlement = Task {
                await settle(granted, platform: platform, body: body, key: key, forwarded: forwarded, onTooMany: named)
            }
            let remaining = max(api.clock.now.duration(to: deadline), .seconds(1))
            switch await Self.value(of: settlement, within: remaining) {
            case .created(let result, let bound, let unwritten):
                var response = passThrough(result.response, lease: bound)
                if unwritten { response.headers[.slotgateWarning] = "lease-not-written" }
                return response
            case .refused(let result):
                return passThrough(result.response, lease: await gatekeeper.lease(lease.id) ?? lease)
            case .requeued:
                // Someone outside this daemon took the slot: back to the queue in the request's place, same key.
                api.logger.warning("the platform refused a create with 429; requeued", metadata: ["lease": "\(lease.id)"])
                switch await gatekeeper.awaitRequeued(lease.id) {
                case .success(let again): lease = again
                case .failure(let error):
                    var answer = APIError(error)
                    answer.extraHeaders = Self.leaseHeaders(lease)
                    throw answer
                }
            case nil:
                var error = APIError.upstreamError(
                    "The platform has not settled the create yet. slotgated keeps sending it with the same Idempotency-Key "
                        + "and the lease keeps its slot until it settles; retry with the same Idempotency-Key to get the session."
                )
                error.extraHeaders = Self.leaseHeaders(lease)
                error.extraHeaders[.idempotencyKey] = key
                throw error
            }
        }
    }

    /// What a create sent with a granted lease came to, once the platform's answer settled it.
    private enum Settled: Sendable {
        /// The session exists (new or replayed); the lease is bound to it, or the bind could not be written.
        case created(CreateResult, Lease, unwritten: Bool)
        /// A final refusal (4xx other than 429, or a 2xx without a session id): the lease ended.
        case refused(CreateResult)
        /// 429: the lease went back to the queue.
        case requeued
    }

    /// The answer for a create that could not be settled: 504, no session the daemon knows of.
    static let unsettled = CreateResult(
        response: AGPResponse(status: 504, headers: [:], body: ByteBuffer()),
        sessionID: nil,
        sessionStatus: nil,
        attempts: 0
    )

    /// How long one round of attempts inside the platform client may take before the settling loop looks again.
    static let attemptWindow = Duration.seconds(30)
    /// The platform keeps an Idempotency-Key for 24 h (agp-api.md §6); past this the create cannot be settled by a
    /// retry, and the lease ends, counting until a reading sent after it (the quota counts the session if it exists).
    static let settleLimit = Duration.seconds(23 * 3600)

    /// Sends the create with the same Idempotency-Key until the platform's answer settles it: a session (bound to the
    /// lease), a final refusal, or a 429. No answer, 408, 409 (in flight) and 5xx leave it open, and it is sent
    /// again after a pause (`Retry-After` when given, else doubling from 1 s to 60 s).
    // swift-format-ignore: FunctionParameterCount
    private func settle(
        _ lease: Lease,
        platform: AGPClient,
        body: ByteBuffer,
        key: String,
        forwarded: HTTPHeaders,
        onTooMany named: GatekeeperStateMachine.CreateOutcome?
    ) async -> Settled {
        let gatekeeper = api.gatekeeper
        let started = api.clock.now
        var pause = Duration.seconds(1)
        while true {
            var wait = pause
            // Each attempt renews the lease's mark, which keeps it from expiring or being freed
            // (GatekeeperStateMachine.createSettleBound); a lease that ended meanwhile sends no create.
            guard (try? await gatekeeper.beginCreate(lease.id)) != nil else {
                api.logger.error("a create's lease ended before the create settled; no attempt is sent", metadata: ["lease": "\(lease.id)"])
                return .refused(Self.unsettled)
            }
            do {
                let result = try await platform.createSession(
                    body: body,
                    idempotencyKey: key,
                    extraHeaders: forwarded,
                    deadline: api.clock.now.advanced(by: Self.attemptWindow)
                )
                if result.isCreated, let session = result.sessionID {
                    return await created(result, session: session, lease: lease)
                }
                switch result.status {
                case 429:
                    _ = try? await gatekeeper.createOutcome(lease.id, named ?? .rejectedTooManyRequests)
                    return .requeued
                case 408, 409, 500...599:
                    if let text = result.response.headers.first(name: "Retry-After"), let after = RetryAfter.delay(text, now: api.clock.now) {
                        wait = max(wait, after)
                    }
                default:
                    _ = try? await gatekeeper.createOutcome(lease.id, .rejected)
                    return .refused(result)
                }
            } catch {
                // No answer: the platform may have committed it.
                _ = try? await gatekeeper.createOutcome(lease.id, .noAnswer)
            }
            if started.duration(to: api.clock.now) >= Self.settleLimit {
                api.logger.error("a create did not settle within the Idempotency-Key window; its lease ends", metadata: ["lease": "\(lease.id)"])
                _ = try? await gatekeeper.createOutcome(lease.id, .rejected)
                return .refused(Self.unsettled)
            }
            try? await Task.sleep(for: min(wait, .seconds(60)))
            pause = min(pause * 2, .seconds(60))
        }
    }

    /// Binds the lease to the session the platform made. A bind that cannot be written keeps the bind in memory
    /// (the session exists, and the count must say so) and is never silent: an error in the log and a warning
    /// header. A replay of a session another lease already tracks ends this lease.
    private func created(_ result: CreateResult, session: String, lease: Lease) async -> Settled {
        do {
            let bound = try await api.gatekeeper.createOutcome(lease.id, .created(sessionID: session))
            return .created(result, bound, unwritten: false)
        } catch let error where error.code == GatekeeperError.stateUnwritable.code {
            api.logger.error(
                "the session was created but its lease's bind could not be written to the ledger",
                metadata: ["lease": "\(lease.id)", "session": "\(session)"]
            )
            return .created(result, await api.gatekeeper.lease(lease.id) ?? lease, unwritten: true)
        } catch {
            // Most likely a replay of a session an earlier lease (the same key's first request) already tracks.
            api.logger.notice(
                "the platform answered with a session another lease tracks; this lease ends",
                metadata: ["lease": "\(lease.id)", "session": "\(session)", "reason": "\(error)"]
            )
            _ = try? await api.gatekeeper.createOutcome(lease.id, .rejected)
            return .created(result, await api.gatekeeper.lease(lease.id) ?? lease, unwritten: false)
        }
    }

    /// The task's value, or nil when `limit` passes first or the calling task is cancelled; the task goes on.
    private static func value<T: Sendable>(of task: Task<T, Never>, within limit: Duration) async -> T? {
        let (first, continuation) = AsyncStream<T?>.makeStream(bufferingPolicy: .bufferingOldest(1))
        let waiter = Task { continuation.yield(await task.value) }
        let timer = Task {
            try? await Task.sleep(for: limit)
            continuation.yield(nil)
        }
        defer {
            timer.cancel()
            continuation.finish()
            _ = waiter
        }
        for await value in first { return value }
        return nil
    }

    private static func leaseHeaders(_ lease: Lease) -> HTTPFields {
        var fields = HTTPFields()
        fields[.slotgateLease] = lease.id.rawValue
        fields[.slotgateWaitedMs] = String(lease.waited?.milliseconds ?? 0)
        return fields
    }

    private func passThrough(_ response: AGPResponse, lease: Lease?) -> Response {
        var fields = Self.responseFields(response.headers)
        if let lease { for field in Self.leaseHeaders(lease) { fields.append(field) } }
        return Response(status: .init(code: response.status), headers: fields, body: .init(byteBuffer: response.body))
    }

    // MARK: Pass-through

    private func forward(_ request: Request, _ context: SlotgateRequestContext) async throws -> Response {
        guard let platform = api.platform else { throw APIError.upstreamError("No platform is configured.") }
        var request = request
        let (raw, path) = try allowedPath(request)
        let listOwnedBy = try await checkScope(request.method, raw: raw, path: path, context)
        let suffix = String(raw.dropFirst("/api/v2".count))
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let body = try await request.readBody(upTo: APILimits.proxyBodyBytes)
        let method = HTTPMethod(rawValue: request.method.rawValue)
        let headers = HTTPHeaders(request.headers.map { ($0.name.rawName, $0.value) })
        let timeout = platform.configuration.requestTimeout + (Self.longPollWait(request.uri) ?? .zero)
        do {
            if request.method == .get, let session = Self.statusRead(path) {
                // The answer states the session's status: an observation as good as the daemon's own poll, sent now
                // (issue 16). A terminal status frees its slot at once; a running one ends a credit.
                let sentAt = api.clock.now
                let response = try await platform.forward(
                    method: method,
                    path: suffix + query,
                    headers: headers,
                    body: body.readableBytes > 0 ? body : nil,
                    timeout: timeout
                )
                if let observed = AGPClient.sessionStatus(in: response) {
                    await api.gatekeeper.observeSession(session, status: observed, at: sentAt)
                }
                return passThrough(response, lease: nil)
            }
            if let uid = listOwnedBy {
                // The list is read whole to keep the caller's own sessions.
                let response = try await platform.forward(
                    method: method,
                    path: suffix + query,
                    headers: headers,
                    body: body.readableBytes > 0 ? body : nil,
                    timeout: timeout
                )
                return try await ownSessions(response, uid: uid)
            }
            let response = try await platform.forwardStreaming(
                method: method,
                path: suffix + query,
                headers: headers,
                body: body.readableBytes > 0 ? body : nil,
                timeout: timeout
            )
            if response.status == 429 {
                // The platform says it is full: the count is checked against a new reading before the next grant.
                // The answer itself is the client's (it asked for no slot).
                api.logger.notice("the platform answered 429 to a forwarded request; grants wait for a new reading", metadata: ["route": "\(raw)"])
                await api.gatekeeper.platformRefused()
            }
            return streamed(response, idleLimit: timeout, route: "\(request.method.rawValue) \(raw)", channel: context.channel)
        } catch let error as AGPError {
            throw APIError.upstreamError("The platform could not be reached: \(error.description).")
        }
    }

    /// The platform's answer passed on as it arrives, whatever its size: its status, its headers (its
    /// `Content-Length` too) and its body part by part. Between two parts the platform may take `idleLimit` (the
    /// request's timeout), except in an event stream (`text/event-stream`), which lasts as long as the client
    /// stays (its hang-up ends the request to the platform); past it the connection closes before the body's end,
    /// so the client sees the answer cut short.
    private func streamed(_ response: AGPStreamedResponse, idleLimit: Duration, route: String, channel: any Channel) -> Response {
        var fields = Self.responseFields(response.headers)
        if let length = response.headers.first(name: "Content-Length"), Int(length) != nil {
            fields[.contentLength] = length
        }
        let isEventStream = response.headers.first(name: "Content-Type")?.lowercased().hasPrefix("text/event-stream") == true
        let logger = api.logger
        let body = response.body
        return Response(
            status: .init(code: response.status),
            headers: fields,
            body: ResponseBody { writer in
                do {
                    if isEventStream {
                        try await BodyRelay.relay(body, idleLimit: nil, hangUp: { await hangUp(of: channel) }, to: &writer)
                    } else {
                        try await BodyRelay.relay(body, idleLimit: idleLimit, to: &writer)
                    }
                } catch is BodyRelay.Stalled {
                    logger.warning(
                        "the platform stopped sending a forwarded answer; the client's connection closes",
                        metadata: ["route": "\(route)", "idle_s": "\(idleLimit.seconds)"]
                    )
                    throw BodyRelay.Stalled()
                } catch is BodyRelay.ClientGone {
                    logger.debug("the client hung up on a forwarded event stream; its request to the platform ends", metadata: ["route": "\(route)"])
                    throw BodyRelay.ClientGone()
                }
            }
        )
    }

    /// The session whose status a GET of this path reads (`/sessions/{id}` and `/sessions/{id}/status`), or nil.
    static func statusRead(_ path: PlatformPath) -> String? {
        let segments = path.segments
        guard segments.first == "sessions", segments.count == 2 || (segments.count == 3 && segments[2] == "status"),
            case .session(let id) = SessionTarget(path)
        else { return nil }
        return id
    }

    /// The wait a request asks the platform for (`wait_for_seconds`, the long-poll of `/sessions/{id}/changes`), so
    /// that the daemon's own timeout (`upstream.timeout_s`) does not cut it: the largest value given, at most an
    /// hour; nil when none is asked.
    static func longPollWait(_ uri: URI) -> Duration? {
        let asked = uri.queryParameters.getAll("wait_for_seconds").compactMap { Double(String($0)) }.filter { $0.isFinite && $0 > 0 }
        return asked.max().map { .seconds(min($0, 3600)) }
    }

    // MARK: Session scope

    /// With `proxy.session_scope: uid`, refuses (403) a peer that is not an admin a session its uid did not create
    /// through this daemon, and any method but GET on the session list. Returns the uid whose sessions the list
    /// keeps, or nil when the answer passes unchanged.
    private func checkScope(
        _ method: HTTPRequest.Method,
        raw: String,
        path: PlatformPath,
        _ context: SlotgateRequestContext
    ) async throws(APIError) -> UInt32? {
        guard api.sessionScope == .uid else { return nil }
        let target = SessionTarget(path)
        if case .none = target { return nil }
        let peer = await PeerCredentials.of(context.channel)
        guard !api.access.isAdmin(peer) else { return nil }
        switch target {
        case .none:
            return nil
        case .list:
            guard method == .get else {
                throw APIError.forbidden(
                    "\(method.rawValue) \(raw) reaches every session of the organization; with proxy.session_scope: uid only root or a member "
                        + "of socket.admin_group may send it."
                )
            }
            return peer.uid
        case .session(let session):
            let owner = await api.gatekeeper.sessionOwners([session])[session]
            guard owner != peer.uid else { return nil }
            let whose =
                if let owner {
                    "belongs to uid \(owner)\(LeaseAccess.userName(owner).map { " (\($0))" } ?? "")"
                } else {
                    "was not created through slotgated on this host, or its lease left the ledger (leases.retention_h)"
                }
            throw APIError.forbidden(
                "Session \(session) \(whose); with proxy.session_scope: uid only its creator, root or a member of socket.admin_group may reach it."
            )
        }
    }

    /// The platform's session list with only the sessions `uid` created through this daemon. Paging stays the
    /// platform's: a page may hold fewer than `size` items, and `total` and `page` are the platform's, so a client
    /// that pages `while page * size < total` reads every page.
    private func ownSessions(_ response: AGPResponse, uid: UInt32) async throws -> Response {
        guard (200..<300).contains(response.status) else { return passThrough(response, lease: nil) }
        guard var page = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any],
            let items = page["items"] as? [Any]
        else {
            throw APIError.upstreamError("The platform's session list could not be read to keep the caller's own sessions.")
        }
        let ids = items.compactMap { ($0 as? [String: Any])?["id"] as? String }
        let owners = await api.gatekeeper.sessionOwners(ids)
        page["items"] = items.filter { item in
            guard let id = (item as? [String: Any])?["id"] as? String else { return false }
            return owners[id] == uid
        }
        let body = try JSONSerialization.data(withJSONObject: page)
        return Response(
            status: .init(code: response.status),
            headers: Self.responseFields(response.headers),
            body: .init(byteBuffer: ByteBuffer(bytes: body))
        )
    }

    /// The request's raw path, once it is shown to stay under `/api/v2/` (``PlatformPath``: 400 otherwise) and to
    /// match `proxy.allow` (403 `route_not_allowed` otherwise). The path is forwarded as sent: what was checked is
    /// what the platform gets.
    private func allowedPath(_ request: Request) throws(APIError) -> (raw: String, path: PlatformPath) {
        let raw = request.uri.path
        let path: PlatformPath
        do {
            path = try PlatformPath(raw: raw)
        } catch {
            throw APIError.badRequest("The path \(raw) cannot be forwarded: \(error).")
        }
        guard api.proxyAllow.allows(method: request.method.rawValue, path: path) else {
            throw APIError.routeNotAllowed(request.method, raw)
        }
        return (raw, path)
    }

    /// The platform's answer headers, less hop-by-hop ones and those the server sets itself.
    private static func responseFields(_ headers: HTTPHeaders) -> HTTPFields {
        let dropped: Set<String> = [
            "connection", "keep-alive", "transfer-encoding", "content-length", "date", "server", "upgrade", "proxy-connection", "te",
            "trailer",
        ]
        var fields = HTTPFields()
        for (name, value) in headers where !dropped.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        return fields
    }
}

extension HTTPField.Name {
    // Literal names that are valid tokens: the initializer fails only on invalid characters.
    // swift-format-ignore: NeverForceUnwrap
    static let slotgateHolder = HTTPField.Name("Slotgate-Holder")!
    static let slotgatePriority = HTTPField.Name("Slotgate-Priority")!
    static let slotgateWait = HTTPField.Name("Slotgate-Wait")!
    static let slotgateLease = HTTPField.Name("Slotgate-Lease")!
    static let slotgateWaitedMs = HTTPField.Name("Slotgate-Waited-Ms")!
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let slotgateWarning = HTTPField.Name("Slotgate-Warning")!
}
