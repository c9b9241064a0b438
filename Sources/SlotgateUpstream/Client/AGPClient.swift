//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import SlotgateCore

/// The client of the agent platform's REST API (agp-api.md §2): quota, token quota, the list of
/// non-terminal sessions, session status, create and cancel, plus a raw pass-through for the proxy.
///
/// Every request has a timeout covering its whole answer. Reads and cancels are retried on
/// timeouts, connection errors, 408, 429 and 5xx (``RetryPolicy/shouldRetry(method:status:isCreate:)``),
/// honouring `Retry-After`; creates are retried with the same `Idempotency-Key` until a deadline.
/// The API key goes only into the `Authorization` header; it is absent from every log line and error.
///
/// ```swift
/// let client = AGPClient(configuration: .init(apiKey: APIKey(key)), httpClient: .shared, logger: logger)
/// let quota = try await client.sessionQuota()
/// ```
public final class AGPClient: PlatformClient {
    /// The configuration the client was made with.
    public let configuration: AGPClientConfiguration
    let httpClient: HTTPClient
    let logger: Logger
    let redact: Redactor
    /// The base URL without a trailing slash.
    let base: String

    /// Creates a client.
    /// - Parameters:
    ///   - configuration: where the platform is, the key, timeouts and retries.
    ///   - httpClient: the HTTP client to send with; its owner shuts it down.
    ///   - logger: the logger; the key never reaches it.
    public init(configuration: AGPClientConfiguration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.logger = logger
        self.redact = Redactor(key: configuration.apiKey)
        var base = configuration.baseURL.trimmingWhitespace()
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
    }

    /// Reads the concurrency quota (`GET /sessions/quota`).
    ///
    /// An unknown `scope` is read as `org`, the wider of the two.
    public func sessionQuota() async throws -> QuotaReading {
        let route = "GET /sessions/quota"
        let wire = try await readJSON(WireFormat.Quota.self, path: "/sessions/quota", query: [], route: route)
        let scope = wire.scope.flatMap(QuotaScope.init(rawValue:)) ?? .org
        if let raw = wire.scope, QuotaScope(rawValue: raw) == nil {
            var logger = logger
            logger[metadataKey: "agp.scope"] = "\(redact(raw))"
            logger.warning("Unknown quota scope; reading it as org")
        }
        return QuotaReading(scope: scope, limit: wire.limit, active: wire.active)
    }

    /// Reads the token allowance (`GET /quota/tokens`).
    ///
    /// A null `limit` means unlimited; `remaining` is computed when the platform left it null but sent
    /// `limit` and `used` (U10, U11). `sentAt` is the wall-clock time the request was first sent.
    public func tokenQuota() async throws -> TokenReading {
        let sentAt = WallClock().now
        let wire = try await readJSON(WireFormat.TokenQuota.self, path: "/quota/tokens", query: [], route: "GET /quota/tokens")
        return TokenReading(
            limit: wire.limit,
            used: wire.used,
            remaining: wire.remaining,
            windowStart: wire.windowStart.flatMap(ISO8601.parse),
            windowEnd: wire.windowEnd.flatMap(ISO8601.parse),
            sentAt: sentAt
        )
    }

    /// Lists every non-terminal session visible to `owner` (`GET /sessions`, statuses of
    /// `SessionStatus.nonTerminal`, `size=100`, oldest first), following pages while `page · size < total`.
    ///
    /// Sessions that move between pages while they are read can appear twice (kept once) or be missed;
    /// a tracked session missing from the list is confirmed with a status read (design.md "Slot accounting").
    /// - Parameter owner: whose sessions to list (``ListOwner/matching(_:)`` the quota's scope).
    public func nonTerminalSessions(owner: ListOwner) async throws -> [ListedSession] {
        let route = "GET /sessions"
        let size = 100
        var sessions: [ListedSession] = []
        var seen: Set<String> = []
        var page = 1
        while true {
            var query = SessionStatus.nonTerminal.map { ("status", $0.rawValue) }
            query += [("owner", owner.rawValue), ("sort", "created_at"), ("size", String(size)), ("page", String(page))]
            let wire = try await readJSON(WireFormat.Page.self, path: "/sessions", query: query, route: route)
            for item in wire.items where seen.insert(item.id).inserted {
                sessions.append(ListedSession(id: item.id, status: item.status.value))
            }
            guard page * size < wire.total, !wire.items.isEmpty else { return sessions }
            guard page < configuration.maxListPages else {
                throw AGPError(
                    kind: .decoding,
                    route: route,
                    message: "the list has \(wire.total) sessions, more than \(configuration.maxListPages) pages"
                )
            }
            page += 1
        }
    }

    /// Reads one session's status (`GET /sessions/{id}/status`); nil when the platform answers 404, or 422 for an
    /// id that is not a valid session id (agp-api.md §2: such an id fails path validation, so no such session can
    /// exist and it holds no slot).
    /// - Parameter id: the session id.
    public func sessionStatus(id: String) async throws -> SessionStatus? {
        let route = "GET /sessions/{id}/status"
        let (response, attempts) = try await send(
            method: .GET,
            path: "/sessions/\(Self.pathSegment(id))/status",
            query: [],
            route: route
        )
        if response.status == 404 || response.status == 422 { return nil }
        let body = try decode(WireFormat.StatusBody.self, response, route: route, attempts: attempts)
        return body.status.value
    }

    /// What a forwarded answer of `GET /sessions/{id}` or `GET /sessions/{id}/status` says of the session: `.some(status)`
    /// for a 2xx whose body names a status, `.some(nil)` for 404 (the platform does not know it), nil when it says
    /// nothing usable (any other status, or a body without a status).
    /// - Parameter response: the platform's answer.
    public static func sessionStatus(in response: AGPResponse) -> SessionStatus?? {
        if response.status == 404 { return .some(nil) }
        guard (200...299).contains(response.status),
            case .success(let body) = WireFormat.decode(WireFormat.StatusBody.self, from: response.body)
        else { return nil }
        return .some(body.status.value)
    }

    /// Cancels a session (`DELETE /sessions/{id}`): true when the platform accepted (204), false on 404.
    ///
    /// 5xx answers, 429, timeouts and connection errors are retried; a cancel is idempotent in effect.
    /// - Parameter id: the session id.
    public func cancelSession(id: String) async throws -> Bool {
        let route = "DELETE /sessions/{id}"
        let (response, attempts) = try await send(method: .DELETE, path: "/sessions/\(Self.pathSegment(id))", query: [], route: route)
        switch response.status {
        case 200...299: return true
        case 404: return false
        default: throw httpError(response, route: route, attempts: attempts)
        }
    }

    /// Creates a session (`POST /sessions`) with an `Idempotency-Key`, retrying with the same key until `deadline`.
    ///
    /// Retried: a 409 (an earlier attempt with this key is still in flight; after its `Retry-After`), 408, 5xx,
    /// timeouts and connection errors. Not retried: 429 (returned, so the caller can requeue) and every other
    /// answer. The last HTTP answer is returned whatever its status; check ``CreateResult/isCreated`` and
    /// ``CreateResult/isAmbiguous``.
    /// - Parameters:
    ///   - body: the create body, sent unchanged (byte-identical on every attempt).
    ///   - idempotencyKey: the key, the same on every attempt (a UUID).
    ///   - extraHeaders: headers to pass on (the client's); `Authorization`, `Idempotency-Key` and hop-by-hop ones are dropped.
    ///   - deadline: no attempt starts, and no wait runs, past this wall-clock time.
    /// - Throws: ``AGPError`` of kind ``AGPError/Kind/noAnswer`` when the last attempt got no answer: the
    ///   session may or may not exist. `CancellationError` when the task is cancelled.
    public func createSession(
        body: ByteBuffer,
        idempotencyKey: String,
        extraHeaders: HTTPHeaders = [:],
        deadline: Timestamp
    ) async throws -> CreateResult {
        let route = "POST /sessions"
        var headers = Self.passThroughHeaders(extraHeaders)
        headers.remove(name: "Idempotency-Key")
        headers.replaceOrAdd(name: "Idempotency-Key", value: idempotencyKey)
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        let response: AGPResponse
        let attempts: Int
        do {
            (response, attempts) = try await send(
                method: .POST,
                path: "/sessions",
                query: [],
                headers: headers,
                body: body,
                route: route,
                deadline: deadline
            )
        } catch let error as AGPError where error.kind == .timeout || error.kind == .transport {
            throw error.with(kind: .noAnswer)
        }
        var result = CreateResult(response: response, sessionID: nil, sessionStatus: nil, attempts: attempts)
        if (200...299).contains(response.status),
            case .success(let created) = WireFormat.decode(WireFormat.CreatedSession.self, from: response.body)
        {
            result.sessionID = created.id
            result.sessionStatus = created.status?.value
        }
        var logger = logger
        logger[metadataKey: "agp.route"] = "\(route)"
        logger[metadataKey: "agp.status"] = "\(response.status)"
        logger[metadataKey: "agp.attempts"] = "\(attempts)"
        if let id = result.sessionID { logger[metadataKey: "agp.session"] = "\(redact(id))" }
        logger.debug("Create answered")
        return result
    }

    /// Sends one request to the platform unchanged except for authentication, with no retry (for the proxy).
    ///
    /// The client's `Authorization` is replaced by the daemon's key; hop-by-hop headers, `Host` and
    /// `Content-Length` are dropped.
    /// - Parameters:
    ///   - method: the method.
    ///   - path: the path below the base URL, with its query if any (`/sessions/abc/messages`).
    ///   - headers: the client's headers.
    ///   - body: the body, if any.
    ///   - timeout: the timeout for the whole answer (default the configured request timeout).
    public func forward(
        method: HTTPMethod,
        path: String,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        timeout: Duration? = nil
    ) async throws -> AGPResponse {
        let route = "\(method.rawValue) (forwarded)"
        let suffix = path.hasPrefix("/") ? path : "/" + path
        return try await exchange(
            method: method,
            url: base + suffix,
            headers: Self.passThroughHeaders(headers),
            body: body,
            route: route,
            timeout: timeout ?? configuration.requestTimeout,
            attempt: 1,
            forwarded: true
        )
    }

    /// Sends one request to the platform as ``forward(method:path:headers:body:timeout:)`` does, and returns when
    /// the answer's head arrives: the body is read by the caller as the platform sends it, of any size.
    /// - Parameters:
    ///   - method: the method.
    ///   - path: the path below the base URL, with its query if any.
    ///   - headers: the client's headers.
    ///   - body: the body, if any.
    ///   - timeout: the time the head may take (default the configured request timeout).
    public func forwardStreaming(
        method: HTTPMethod,
        path: String,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        timeout: Duration? = nil
    ) async throws -> AGPStreamedResponse {
        let suffix = path.hasPrefix("/") ? path : "/" + path
        return try await streamedExchange(
            method: method,
            url: base + suffix,
            headers: Self.passThroughHeaders(headers),
            body: body,
            route: "\(method.rawValue) (forwarded)",
            timeout: timeout ?? configuration.requestTimeout
        )
    }
}
