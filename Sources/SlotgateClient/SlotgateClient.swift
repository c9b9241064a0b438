//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A client of `slotgated`'s local API over its Unix socket (socket-api.md).
///
/// One instance per process is enough: it keeps a small pool of connections to the socket. Call ``shutdown()``
/// before the process exits.
public final class SlotgateClient: Sendable {
    /// An answer as it came, for calls whose body the caller reads itself (the proxy, `/metrics`).
    public struct RawAnswer: Sendable {
        /// The HTTP status code.
        public var status: Int
        /// The answer's headers, names as sent.
        public var headers: [(name: String, value: String)]
        /// The body.
        public var body: Data

        /// The first header of that name, compared without regard to case.
        /// - Parameter name: the header name.
        public func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    /// The socket this client connects to.
    public let socketPath: String

    let httpClient: HTTPClient

    /// The largest answer body read (listings of many leases stay far below).
    static let maxBodyBytes = 16 << 20

    /// Creates a client for a socket.
    /// - Parameter socketPath: the daemon's socket, e.g. from ``SocketPath/resolve(explicit:environment:)``.
    public init(socketPath: String) {
        self.socketPath = socketPath
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: nil)
        // A missing or refused socket is an answer in itself: fail at once rather than retry with backoff.
        configuration.connectionPool.retryConnectionEstablishment = false
        // Every waiting acquire holds a connection for the whole wait: a program with many waiters (the demo, an
        // agent runner) must not queue its status reads and releases behind them.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1024
        configuration.decompression = .disabled
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the connections. Call once, when done with the client.
    public func shutdown() async throws {
        try await httpClient.shutdown()
    }

    // MARK: Typed calls

    /// `GET /v1/status`.
    public func status() async throws(ClientError) -> Status {
        try decode(Status.self, from: try await json(.status))
    }

    /// `GET /v1/leases`: leases and waiters.
    /// - Parameter all: also the ended leases still in the daemon's ledger (`?all=1`).
    public func leases(all: Bool = false) async throws(ClientError) -> Listing {
        try decode(Listing.self, from: try await json(all ? .allLeases : .leases))
    }

    /// `GET /v1/leases/{id}`.
    /// - Parameter id: the lease id.
    public func lease(_ id: String) async throws(ClientError) -> Lease {
        try decode(Lease.self, from: try await json(.lease(id)))
    }

    /// `POST /v1/leases`: waits in the queue (long-poll) until a slot is granted or the wait runs out.
    /// - Parameters:
    ///   - holder: who asks; nil leaves it empty.
    ///   - priority: -10…10; nil is 0.
    ///   - wait: seconds to wait (0 = try once); nil is the daemon's default (300 s unless configured).
    ///   - ttl: claim TTL in seconds; nil is the daemon's default.
    /// - Returns: the granted lease.
    /// - Throws: ``ClientError``: `wait_timeout`, `queue_full`, … as API errors, or the daemon unreachable.
    public func acquire(holder: String? = nil, priority: Int? = nil, wait: Double? = nil, ttl: Double? = nil) async throws(ClientError) -> Lease {
        try decode(Lease.self, from: try await json(.acquire(holder: holder, priority: priority, wait: wait, ttl: ttl)))
    }

    /// `POST /v1/leases/{id}/session`: binds a granted lease to a platform session.
    /// - Parameters:
    ///   - id: the lease id.
    ///   - session: the platform session id.
    public func bind(_ id: String, session: String) async throws(ClientError) -> Lease {
        try decode(Lease.self, from: try await json(.bind(id, session: session)))
    }

    /// `POST /v1/leases/{id}/renew`: pushes an unbound lease's expiry out by its claim TTL (a no-op when bound).
    /// - Parameter id: the lease id.
    public func renew(_ id: String) async throws(ClientError) -> Lease {
        try decode(Lease.self, from: try await json(.renew(id)))
    }

    /// `DELETE /v1/leases/{id}`: releases a lease (a bound one goes `draining` while its session runs).
    /// - Parameters:
    ///   - id: the lease id.
    ///   - cancelSession: also ask the platform to cancel the bound session.
    public func release(_ id: String, cancelSession: Bool = false) async throws(ClientError) -> Lease {
        try decode(Lease.self, from: try await json(.release(id, cancelSession: cancelSession)))
    }

    // MARK: Untyped calls

    /// Calls an endpoint and returns the JSON body of a 2xx answer unchanged.
    /// - Parameter endpoint: the call.
    /// - Throws: ``ClientError``: an API error for non-2xx answers, or the daemon unreachable.
    public func json(_ endpoint: Endpoint) async throws(ClientError) -> Data {
        let answer = try await send(
            method: endpoint.method,
            path: endpoint.path,
            headers: endpoint.body == nil ? [] : [("Content-Type", "application/json")],
            body: endpoint.body,
            timeout: endpoint.timeout
        )
        guard (200..<300).contains(answer.status) else { throw Self.apiError(answer) }
        return answer.body
    }

    /// Sends any request to the socket and returns the answer whatever its status: for the proxy under
    /// `/api/v2/` and for `/metrics`.
    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - path: path and query.
    ///   - headers: extra headers.
    ///   - body: the body, if any.
    ///   - timeout: the longest wait for the whole answer.
    /// - Throws: ``ClientError`` when the daemon cannot be reached or the answer cannot be read.
    public func send(
        method: String,
        path: String,
        headers: [(String, String)] = [],
        body: Data? = nil,
        timeout: Duration = .seconds(30)
    ) async throws(ClientError) -> RawAnswer {
        let request = try makeRequest(method: method, path: path, headers: headers, body: body)
        do {
            let response = try await httpClient.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
            let bytes = try await response.body.collect(upTo: Self.maxBodyBytes)
            return RawAnswer(
                status: Int(response.status.code),
                headers: response.headers.map { (name: $0.name, value: $0.value) },
                body: Data(bytes.readableBytesView)
            )
        } catch {
            throw classify(error)
        }
    }

    // MARK: Plumbing

    func makeRequest(method: String, path: String, headers: [(String, String)], body: Data?) throws(ClientError) -> HTTPClientRequest {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw ClientError.unreachable(socket: socketPath, reason: .other("the socket path cannot be used in a URL"))
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(data: body))
        }
        return request
    }

    /// Decodes a JSON body of the API (a ``Lease``, ``Status``, ``Listing``) as the typed calls do.
    /// - Parameters:
    ///   - type: the model type.
    ///   - data: the body, e.g. from ``json(_:)``.
    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(ClientError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw ClientError.badAnswer(status: 200, detail: "cannot decode \(T.self): \(error)")
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue + attoseconds / 1_000_000_000
    }

    /// The API error of a non-2xx answer, `{"error": {"code", "message"}}`; other bodies give a readable fallback.
    static func apiError(_ answer: RawAnswer) -> ClientError {
        struct Envelope: Decodable {
            struct Detail: Decodable {
                var code: String
                var message: String?
            }
            var error: Detail
        }
        let retryAfter = answer.header("Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        if let envelope = try? JSONDecoder().decode(Envelope.self, from: answer.body) {
            return .api(status: answer.status, code: envelope.error.code, message: envelope.error.message ?? "", retryAfter: retryAfter)
        }
        let text = String(decoding: answer.body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return .api(
            status: answer.status,
            code: "http_\(answer.status)",
            message: text.isEmpty ? "HTTP \(answer.status)" : text,
            retryAfter: retryAfter
        )
    }
}
