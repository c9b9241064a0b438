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
            router.on("/api/v2/**", method: method) { request, _ in try await forward(request) }
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
        var request = request
        let options = try Self.parseHeaders(request.headers)
        let body = try await request.readBody(upTo: APILimits.proxyBodyBytes)
        let peer = await PeerCredentials.read(from: context.channel) ?? PeerCredentials(uid: 0, gid: 0, pid: 0)
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
            // Keep the claim alive while the platform takes its time.
            _ = try? await gatekeeper.renew(lease.id)
            let result: CreateResult
            do {
                result = try await platform.createSession(
                    body: body,
                    idempotencyKey: key,
                    extraHeaders: forwarded,
                    deadline: max(deadline, api.clock.now.advanced(by: .seconds(1)))
                )
            } catch let error as AGPError {
                return try await giveUp(lease, error.description)
            }
            if result.isCreated, let session = result.sessionID {
                let bound = try? await gatekeeper.createOutcome(lease.id, .created(sessionID: session))
                return passThrough(result.response, lease: bound ?? lease)
            }
            switch result.response.status {
            case 429:
                // Someone outside this daemon took the slot: back to the head of the queue, same key.
                api.logger.warning("the platform refused a create with 429; requeued", metadata: ["lease": "\(lease.id)"])
                _ = try? await gatekeeper.createOutcome(lease.id, .rejectedTooManyRequests)
                switch await gatekeeper.awaitRequeued(lease.id) {
                case .success(let granted): lease = granted
                case .failure(let error):
                    var answer = APIError(error)
                    answer.extraHeaders = Self.leaseHeaders(lease)
                    throw answer
                }
            case 200...299:
                // A 2xx without a readable session id: the session exists but cannot be tracked by id.
                return try await giveUp(lease, "the platform's answer carried no session id")
            case 408, 409, 500...599:
                return try await giveUp(lease, "the platform answered \(result.response.status) until the wait ran out")
            default:
                // A final refusal (4xx): no session was created; the answer passes through unchanged.
                _ = try? await gatekeeper.createOutcome(lease.id, .rejected)
                return passThrough(result.response, lease: await gatekeeper.lease(lease.id) ?? lease)
            }
        }
    }

    /// The create may or may not have happened: the lease is released, keeping its slot counted until a reading
    /// settles it, and the client gets 502.
    private func giveUp(_ lease: Lease, _ reason: String) async throws -> Response {
        _ = try? await api.gatekeeper.createOutcome(lease.id, .noAnswer)
        let released = (try? await api.gatekeeper.release(lease.id)) ?? lease
        var error = APIError.upstreamError("The platform did not create the session: \(reason).")
        error.extraHeaders = Self.leaseHeaders(released)
        throw error
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

    private func forward(_ request: Request) async throws -> Response {
        guard let platform = api.platform else { throw APIError.upstreamError("No platform is configured.") }
        var request = request
        let path = request.uri.path
        let suffix = String(path.dropFirst("/api/v2".count))
        // Only paths under the configured base URL: no dot segments, no doubled slashes.
        let segments = suffix.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !segments.contains(where: { $0 == "." || $0 == ".." || $0.isEmpty }) else {
            throw APIError.badRequest("The path \(path) cannot be forwarded.")
        }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        let body = try await request.readBody(upTo: APILimits.proxyBodyBytes)
        let method = HTTPMethod(rawValue: request.method.rawValue)
        let headers = HTTPHeaders(request.headers.map { ($0.name.rawName, $0.value) })
        do {
            let response = try await platform.forward(
                method: method,
                path: suffix + query,
                headers: headers,
                body: body.readableBytes > 0 ? body : nil
            )
            return passThrough(response, lease: nil)
        } catch let error as AGPError {
            throw APIError.upstreamError("The platform could not be reached: \(error.description).")
        }
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
}
