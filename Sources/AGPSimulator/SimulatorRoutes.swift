//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The HTTP face of a ``SimulatedPlatform``: the `/api/v2` routes of agp-api.md §2 and the `/_sim` control routes.
///
/// Each API request is first admitted by the platform, which counts it and may answer it with an injected
/// fault; then the Bearer key is checked, then the route runs. Slow answers are delayed before the route
/// runs, except for creates, whose delay runs while their Idempotency-Key is in flight (§6, 409).
/// Every `/api/v2` route needs a known key, the public-read routes included (the simulator has no shared
/// sessions). Pause, resume, messages, force_answer, changes and events count as route `other`.
struct SimulatorRoutes: Sendable {
    let platform: SimulatedPlatform

    /// Bodies over 5 MiB are refused, as the platform does.
    static let maximumBodySize = 5 * 1024 * 1024

    func register(on router: Router<BasicRequestContext>) {
        self.registerAPI(on: router)
        self.registerControl(on: router)
    }

    // MARK: API routes

    private func registerAPI(on router: Router<BasicRequestContext>) {
        let platform = self.platform
        router.post("/api/v2/sessions") { request, _ in try await self.create(request) }
        router.get("/api/v2/sessions") { request, _ in
            try await self.serve("list", request) { caller in
                let query = Self.query(request)
                return await platform.perform { model, now in model.list(query: query, caller: caller, at: now) }
            }
        }
        router.get("/api/v2/sessions/quota") { request, _ in
            try await self.serve("quota", request) { caller in
                await platform.perform { model, now in model.quota(caller: caller, at: now) }
            }
        }
        router.get("/api/v2/quota/tokens") { request, _ in
            try await self.serve("tokens", request) { _ in await platform.perform { model, now in model.tokens(at: now) } }
        }
        router.get("/api/v2/sessions/{id}") { request, context in
            try await self.serveSession("get", request, context) { model, id, now in model.getSession(id, at: now) }
        }
        router.get("/api/v2/sessions/{id}/status") { request, context in
            try await self.serveSession("status", request, context) { model, id, now in model.getStatus(id, at: now) }
        }
        router.delete("/api/v2/sessions/{id}") { request, context in
            try await self.serveSession("cancel", request, context) { model, id, now in model.cancel(id, at: now) }
        }
        router.post("/api/v2/sessions/{id}/pause") { request, context in
            try await self.serveSession("other", request, context) { model, id, now in model.pause(id, at: now) }
        }
        router.post("/api/v2/sessions/{id}/resume") { request, context in
            try await self.serveSession("other", request, context) { model, id, now in model.resume(id, at: now) }
        }
        router.post("/api/v2/sessions/{id}/force_answer") { request, context in
            try await self.serveSession("other", request, context) { model, id, now in model.forceAnswer(id, at: now) }
        }
        router.post("/api/v2/sessions/{id}/messages") { request, context in
            var request = request
            let body = Array(try await request.collectBody(upTo: Self.maximumBodySize).readableBytesView)
            return try await self.serveSession("other", request, context) { model, id, now in
                model.postMessage(id, body: body, at: now)
            }
        }
        router.get("/api/v2/sessions/{id}/changes") { request, context in
            // A long-poll, as the platform's: with nothing new, the answer waits up to wait_for_seconds for an event.
            let query = Self.query(request)
            let wait = query.last { $0.0 == "wait_for_seconds" }.flatMap { Int($0.1) }.map { min(max($0, 0), 60) } ?? 0
            let deadline = ContinuousClock.now + .seconds(wait)
            return try await self.serveSession("other", request, context) { model, id, now in
                model.changes(id, query: query, at: now)
            } again: { reply in
                reply.status == 204 && ContinuousClock.now < deadline
            }
        }
        router.get("/api/v2/sessions/{id}/resources/{name}") { request, context in
            let key = "\(context.parameters.get("id") ?? "")/\(context.parameters.get("name") ?? "")"
            return try await self.serve("other", request) { _ in
                .detail(404, "Resource not found")
            } answer: {
                await self.resource(key)
            }
        }
        router.get("/api/v2/sessions/{id}/events") { request, context in
            let query = Self.query(request)
            return try await self.serveSession("other", request, context) { model, id, now in
                model.eventPage(id, query: query, at: now)
            }
        }
    }

    /// Admission, auth, delay, then `body` with the caller's identity.
    private func serve(
        _ route: String,
        _ request: Request,
        _ body: @Sendable (_ caller: String) async throws -> APIReply
    ) async throws -> Response {
        try await serve(route, request, body) { nil }
    }

    /// ``serve(_:_:_:)`` for a route that may answer with a response of its own (`answer`, nil for `body`'s reply).
    private func serve(
        _ route: String,
        _ request: Request,
        _ body: @Sendable (_ caller: String) async throws -> APIReply,
        answer: @Sendable () async -> Response?
    ) async throws -> Response {
        let admission = await self.platform.admit(route: route)
        try await Self.delay(admission.delay)
        if let fault = admission.reply { return Self.response(fault) }
        guard let caller = self.caller(of: request) else { return Self.response(.unauthorized) }
        if let response = await answer() { return response }
        return Self.response(try await body(caller))
    }

    /// A resource defined through `/_sim`, streamed part by part (a held part waits for its release); nil when
    /// none is defined under `key`. How the download ended is counted.
    private func resource(_ key: String) async -> Response? {
        let shelf = self.platform.resources
        guard let resource = await shelf.resource(key) else { return nil }
        var headers = HTTPFields()
        headers[.contentType] = resource.contentType
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody(contentLength: resource.contentType.hasPrefix("text/event-stream") ? nil : resource.bytes) { writer in
                do {
                    for index in 0..<resource.parts {
                        await shelf.waitForPart(key, index)
                        try await writer.write(ByteBuffer(bytes: ResourceShelf.part(resource, index)))
                    }
                    try await writer.finish(nil)
                } catch {
                    await shelf.finished(aborted: true)
                    throw error
                }
                await shelf.finished(aborted: false)
            }
        )
    }

    /// ``serve(_:_:_:)`` for a `/sessions/{id}` route; a malformed id fails path validation with 422.
    /// A per-session route; `again` repeats the event every 100 ms while it holds for the reply (a long-poll).
    private func serveSession(
        _ route: String,
        _ request: Request,
        _ context: BasicRequestContext,
        _ event: @escaping @Sendable (inout PlatformModel, String, Date) -> APIReply,
        again: @escaping @Sendable (APIReply) -> Bool = { _ in false }
    ) async throws -> Response {
        let id = context.parameters.get("id") ?? ""
        return try await self.serve(route, request) { _ in
            guard UUID(uuidString: id) != nil else {
                let msg = "Input should be a valid UUID"
                return .invalid(type: "uuid_parsing", loc: ["path", "session_id"], msg: msg, input: .string(id))
            }
            var reply = await self.platform.perform { model, now in event(&model, id, now) }
            while again(reply) {
                try await Task.sleep(for: .milliseconds(100))
                reply = await self.platform.perform { model, now in event(&model, id, now) }
            }
            return reply
        }
    }

    private func create(_ request: Request) async throws -> Response {
        let admission = await self.platform.admit(route: "create")
        if let fault = admission.reply { return try await Self.delayed(fault, by: admission.delay) }
        guard let caller = self.caller(of: request) else { return try await Self.delayed(.unauthorized, by: admission.delay) }
        var request = request
        let body = Array(try await request.collectBody(upTo: Self.maximumBodySize).readableBytesView)
        let key: String?
        switch PlatformModel.idempotencyKey(Self.header("idempotency-key", of: request)) {
        case .success(let value): key = value
        case .failure(let failure): return try await Self.delayed(failure.reply, by: admission.delay)
        }
        let parsed: JSONValue
        switch await self.platform.validateCreate(body) {
        case .success(let value): parsed = value
        case .failure(let failure): return try await Self.delayed(failure.reply, by: admission.delay)
        }
        if let early = await self.platform.beginCreate(key: key, body: body) {
            return try await Self.delayed(early, by: admission.delay)
        }
        do {
            try await Self.delay(admission.delay)
        } catch {
            await self.platform.abandonCreate(key: key)
            throw error
        }
        return Self.response(await self.platform.completeCreate(key: key, body: body, request: parsed, caller: caller))
    }

    /// The user behind the request's Bearer key; nil when auth is on and the key is unknown.
    private func caller(of request: Request) -> String? {
        guard !self.platform.apiKeys.isEmpty else { return "anonymous" }
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return self.platform.apiKeys.contains(token) ? token : nil
    }

    // MARK: Control routes

    private func registerControl(on router: Router<BasicRequestContext>) {
        let platform = self.platform
        router.get("/_sim/stats") { _, _ in
            Self.response(status: .ok, encoding: await platform.stats())
        }
        router.get("/_sim/faults") { _, _ in
            Self.response(status: .ok, encoding: await platform.currentFaults())
        }
        router.post("/_sim/faults") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            guard let faults = try? JSONDecoder().decode(SimulatorFaults.self, from: Data(body.readableBytesView)) else {
                return Self.response(.detail(400, "Expected a SimulatorFaults object"))
            }
            await platform.setFaults(faults)
            return Self.response(status: .ok, encoding: faults)
        }
        router.post("/_sim/limit") { request, _ in
            guard let limit = try await Self.controlBody(request)["limit"]?.intValue else {
                return Self.response(.detail(400, "Expected {\"limit\": Int}"))
            }
            await platform.setLimit(limit)
            return Self.response(.json(200, .object(["limit": .int(limit)])))
        }
        router.post("/_sim/external") { request, _ in
            let body = try await Self.controlBody(request)
            let count = body["count"]?.intValue ?? 1
            let run = body["run_ms"]?.intValue.map { Duration.milliseconds($0) }
            var ids: [JSONValue] = []
            for _ in 0..<max(count, 0) {
                ids.append(.string(await platform.createExternalSession(runDuration: run)))
            }
            return Self.response(.json(200, .object(["ids": .array(ids)])))
        }
        router.post("/_sim/sessions/{id}/finish") { request, context in
            let id = context.parameters.get("id") ?? ""
            let status = try await Self.controlBody(request)["status"]?.stringValue ?? "completed"
            guard await platform.finishSession(id, status: status) else { return Self.response(.sessionNotFound) }
            return Self.response(.json(200, .object(["id": .string(id), "status": .string(status)])))
        }
        router.post("/_sim/sessions/{id}/resources/{name}") { request, context in
            // {"bytes": N, "parts": N, "held": Bool, "content_type": "..."}: defines a resource to download.
            let key = "\(context.parameters.get("id") ?? "")/\(context.parameters.get("name") ?? "")"
            let body = try await Self.controlBody(request)
            let bytes = body["bytes"]?.intValue ?? 1024
            let parts = body["parts"]?.intValue ?? 1
            guard bytes >= parts, parts >= 1 else { return Self.response(.detail(400, "Expected bytes >= parts >= 1")) }
            let contentType = body["content_type"]?.stringValue ?? "application/octet-stream"
            let held = body["held"]?.boolValue ?? false
            await platform.resources.define(key, .init(bytes: bytes, parts: parts, held: held, contentType: contentType))
            return Self.response(.json(200, .object(["bytes": .int(bytes), "parts": .int(parts)])))
        }
        router.post("/_sim/sessions/{id}/resources/{name}/release") { request, context in
            // {"parts": N}: sends N more held parts (default 1).
            let key = "\(context.parameters.get("id") ?? "")/\(context.parameters.get("name") ?? "")"
            let count = try await Self.controlBody(request)["parts"]?.intValue ?? 1
            await platform.resources.release(key, count: count)
            return Self.response(.json(200, .object(["released": .int(count)])))
        }
        router.get("/_sim/resources") { _, _ in
            let downloads = await platform.resources.downloads
            return Self.response(.json(200, .object(["completed": .int(downloads.completed), "aborted": .int(downloads.aborted)])))
        }
        router.post("/_sim/tokens") { request, _ in
            let body = try await Self.controlBody(request)
            let limit = body["limit"]?.intValue
            let used = body["used"]?.intValue
            await platform.setTokens(limit: limit, used: used)
            return Self.response(.json(200, .object(["limit": .optional(limit), "used": .optional(used)])))
        }
    }

    /// A control body as JSON; an empty or invalid body reads as `{}`.
    private static func controlBody(_ request: Request) async throws -> JSONValue {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        return JSONValue.parse(Array(body.readableBytesView)) ?? .object([:])
    }

    // MARK: Helpers

    private static func query(_ request: Request) -> [(String, String)] {
        request.uri.queryParameters.map { (String($0.key), String($0.value)) }
    }

    /// The first value of a header, by lower-case name.
    private static func header(_ name: String, of request: Request) -> String? {
        request.headers.first { $0.name.canonicalName == name }?.value
    }

    private static func delayed(_ reply: APIReply, by duration: Duration) async throws -> Response {
        try await Self.delay(duration)
        return Self.response(reply)
    }

    private static func delay(_ duration: Duration) async throws {
        guard duration > .zero else { return }
        try await Task.sleep(for: duration)
    }

    static func response(_ reply: APIReply) -> Response {
        var headers = HTTPFields()
        for (name, value) in reply.headers.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let status = Self.status(reply.status)
        guard let body = reply.body else { return Response(status: status, headers: headers) }
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }

    private static func response(status: HTTPResponse.Status, encoding value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(value) else { return Response(status: .internalServerError) }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func status(_ code: Int) -> HTTPResponse.Status {
        switch code {
        case 200: .ok
        case 201: .created
        case 202: .accepted
        case 204: .noContent
        case 400: .badRequest
        case 401: .unauthorized
        case 404: .notFound
        case 409: .conflict
        case 413: .contentTooLarge
        case 422: .unprocessableContent
        case 429: .tooManyRequests
        case 500: .internalServerError
        case 502: .badGateway
        case 503: .serviceUnavailable
        default: .init(code: code)
        }
    }
}
