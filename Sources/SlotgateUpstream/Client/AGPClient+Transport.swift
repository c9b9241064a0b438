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

extension AGPClient {
    /// Sends a request, retrying per the policy, and returns the last HTTP answer whatever its status.
    ///
    /// Reads and cancels make at most `retry.maxAttempts` attempts; a create (`deadline` given) retries until
    /// the deadline. A `Retry-After` longer than `retry.longestWait` ends the retries at once.
    /// - Throws: ``AGPError`` (timeout or transport) when the last attempt got no answer; `CancellationError`.
    func send(
        method: HTTPMethod,
        path: String,
        query: [(String, String)],
        headers: HTTPHeaders = [:],
        body: ByteBuffer? = nil,
        route: String,
        deadline: Timestamp? = nil
    ) async throws -> (AGPResponse, attempts: Int) {
        let isCreate = deadline != nil
        let url = base + path + Self.queryString(query)
        var attempt = 0
        while true {
            attempt += 1
            var timeout = configuration.requestTimeout
            if let deadline {
                let remaining = WallClock().now.duration(to: deadline)
                timeout = min(timeout, max(remaining, .milliseconds(100)))
            }
            let status: Int?
            let retryAfter: Duration?
            let failure: AGPError?
            var answer: AGPResponse?
            do {
                let response = try await exchange(
                    method: method,
                    url: url,
                    headers: headers,
                    body: body,
                    route: route,
                    timeout: timeout,
                    attempt: attempt
                )
                answer = response
                status = response.status
                retryAfter = response.headers.first(name: "Retry-After").flatMap { RetryAfter.delay($0, now: WallClock().now) }
                failure = nil
            } catch let error as AGPError where error.kind == .timeout || error.kind == .transport {
                status = nil
                retryAfter = nil
                failure = error.with(attempts: attempt)
            }
            guard RetryPolicy.shouldRetry(method: method, status: status, isCreate: isCreate),
                let delay = nextDelay(attempt: attempt, retryAfter: retryAfter, deadline: deadline)
            else {
                if let answer { return (answer, attempt) }
                throw failure ?? AGPError(kind: .transport, route: route, attempts: attempt)
            }
            var logger = logger
            logger[metadataKey: "agp.route"] = "\(route)"
            logger[metadataKey: "agp.attempt"] = "\(attempt)"
            logger[metadataKey: "agp.status"] = "\(status.map(String.init) ?? failure?.kind.description ?? "none")"
            logger[metadataKey: "agp.delay_ms"] = "\(delay.milliseconds)"
            logger.notice("Retrying a platform request")
            try await configuration.sleep(delay)
        }
    }

    /// The wait before attempt `attempt + 1`, or nil when the attempts or the deadline are used up.
    private func nextDelay(attempt: Int, retryAfter: Duration?, deadline: Timestamp?) -> Duration? {
        let policy = configuration.retry
        guard let delay = policy.delay(attempt: attempt - 1, retryAfter: retryAfter) else { return nil }
        if let deadline {
            return WallClock().now.advanced(by: delay) < deadline ? delay : nil
        }
        return attempt < policy.maxAttempts ? delay : nil
    }

    /// A GET that must answer 2xx with a JSON body of type `T`.
    func readJSON<T: Decodable>(_ type: T.Type, path: String, query: [(String, String)], route: String) async throws -> T {
        let (response, attempts) = try await send(method: .GET, path: path, query: query, route: route)
        return try decode(type, response, route: route, attempts: attempts)
    }

    /// Decodes a 2xx answer's body, or throws the HTTP error the answer stands for.
    func decode<T: Decodable>(_ type: T.Type, _ response: AGPResponse, route: String, attempts: Int) throws -> T {
        guard (200...299).contains(response.status) else {
            throw httpError(response, route: route, attempts: attempts)
        }
        switch WireFormat.decode(type, from: response.body) {
        case .success(let value):
            return value
        case .failure(let failure):
            throw AGPError(kind: .decoding, route: route, status: response.status, message: failure.reason, attempts: attempts)
        }
    }

    /// The error for a non-2xx answer, with the platform's message from either body shape.
    func httpError(_ response: AGPResponse, route: String, attempts: Int) -> AGPError {
        let message = WireFormat.errorMessage(response.body).map { redact($0) }
        let retryAfter = response.headers.first(name: "Retry-After").flatMap { RetryAfter.delay($0, now: WallClock().now) }
        let error = AGPError(
            kind: .http,
            route: route,
            status: response.status,
            message: message,
            retryAfter: retryAfter,
            attempts: attempts
        )
        var logger = logger
        logger[metadataKey: "agp.route"] = "\(route)"
        logger[metadataKey: "agp.status"] = "\(response.status)"
        logger[metadataKey: "agp.attempts"] = "\(attempts)"
        if let message { logger[metadataKey: "agp.message"] = "\(message)" }
        logger.warning("Platform answered with an error")
        return error
    }

    /// One attempt: sends the request and reads the whole answer within `timeout`.
    /// - Throws: ``AGPError`` of kind timeout, transport or decoding (body too large); `CancellationError`.
    func exchange(
        method: HTTPMethod,
        url: String,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        route: String,
        timeout: Duration,
        attempt: Int,
        forwarded: Bool = false
    ) async throws -> AGPResponse {
        let request = prepare(method: method, url: url, headers: headers, body: body, forwarded: forwarded)
        var logger = logger
        logger[metadataKey: "agp.route"] = "\(route)"
        logger[metadataKey: "agp.attempt"] = "\(attempt)"
        logger.trace("Platform request")

        let httpClient = httpClient
        let maxBytes = configuration.maxResponseBytes
        let started = ContinuousClock.now
        let prepared = request
        do {
            let response = try await Self.withTimeout(timeout) {
                let response = try await httpClient.execute(prepared, timeout: .nanoseconds(timeout.nanoseconds))
                let body = try await response.body.collect(upTo: maxBytes)
                return AGPResponse(status: Int(response.status.code), headers: response.headers, body: body)
            }
            logger[metadataKey: "agp.status"] = "\(response.status)"
            logger[metadataKey: "agp.elapsed_ms"] = "\((ContinuousClock.now - started).milliseconds)"
            logger.debug("Platform answered")
            configuration.onAnswer(route, response.status)
            return response
        } catch {
            if Task.isCancelled { throw CancellationError() }
            configuration.onAnswer(route, 0)
            let failure = classify(error, route: route, timeout: timeout, attempt: attempt)
            logger[metadataKey: "agp.error"] = "\(failure.kind)"
            logger[metadataKey: "agp.elapsed_ms"] = "\((ContinuousClock.now - started).milliseconds)"
            logger.debug("Platform request failed")
            throw failure
        }
    }

    /// Sends one request and returns as soon as the answer's head arrives (`timeout` covers the head only); the
    /// body is read by the caller, part by part.
    /// - Throws: ``AGPError`` of kind timeout or transport; `CancellationError`.
    func streamedExchange(
        method: HTTPMethod,
        url: String,
        headers: HTTPHeaders,
        body: ByteBuffer?,
        route: String,
        timeout: Duration
    ) async throws -> AGPStreamedResponse {
        let request = prepare(method: method, url: url, headers: headers, body: body, forwarded: true)
        var logger = logger
        logger[metadataKey: "agp.route"] = "\(route)"
        logger.trace("Platform request (streamed answer)")
        let started = ContinuousClock.now
        do {
            // AsyncHTTPClient's deadline covers the head; the body then streams for as long as the platform sends it.
            let response = try await httpClient.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            logger[metadataKey: "agp.status"] = "\(response.status.code)"
            logger[metadataKey: "agp.elapsed_ms"] = "\((ContinuousClock.now - started).milliseconds)"
            logger.debug("Platform answered (head)")
            configuration.onAnswer(route, Int(response.status.code))
            return AGPStreamedResponse(status: Int(response.status.code), headers: response.headers, body: .init(base: response.body))
        } catch {
            if Task.isCancelled { throw CancellationError() }
            configuration.onAnswer(route, 0)
            let failure = classify(error, route: route, timeout: timeout, attempt: 1)
            logger[metadataKey: "agp.error"] = "\(failure.kind)"
            logger.debug("Platform request failed")
            throw failure
        }
    }

    /// The request as sent: the caller's headers with the daemon's `Authorization` (or none), `Accept` and
    /// `User-Agent`.
    private func prepare(method: HTTPMethod, url: String, headers: HTTPHeaders, body: ByteBuffer?, forwarded: Bool) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        // A forwarded request keeps the client's `Accept` and `User-Agent` (an event stream asks for
        // `text/event-stream`); the daemon's own requests ask for JSON.
        if !forwarded || !request.headers.contains(name: "Accept") {
            request.headers.replaceOrAdd(name: "Accept", value: "application/json")
        }
        if !forwarded || !request.headers.contains(name: "User-Agent") {
            request.headers.replaceOrAdd(name: "User-Agent", value: "slotgate")
        }
        if let key = configuration.apiKey {
            request.headers.replaceOrAdd(name: "Authorization", value: key.authorizationHeader)
        } else {
            request.headers.remove(name: "Authorization")
        }
        if let body { request.body = .bytes(body) }
        return request
    }

    private func classify(_ error: any Error, route: String, timeout: Duration, attempt: Int) -> AGPError {
        if error is TimeoutReached {
            return AGPError(kind: .timeout, route: route, message: "no answer within \(timeout.seconds) s", attempts: attempt)
        }
        if error is NIOTooManyBytesError {
            return AGPError(
                kind: .decoding,
                route: route,
                message: "answer larger than \(configuration.maxResponseBytes) bytes",
                attempts: attempt
            )
        }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout, .connectTimeout, .getConnectionFromPoolTimeout, .tlsHandshakeTimeout:
                return AGPError(kind: .timeout, route: route, message: redact(String(describing: error)), attempts: attempt)
            case .invalidURL, .emptyHost, .emptyScheme:
                return AGPError(kind: .invalidRequest, route: route, message: redact(String(describing: error)), attempts: attempt)
            default:
                break
            }
        }
        return AGPError(kind: .transport, route: route, message: redact(String(describing: error)), attempts: attempt)
    }

    /// Runs `operation`, failing with ``TimeoutReached`` when it takes longer than `timeout`.
    ///
    /// AsyncHTTPClient's own deadline covers the answer's head only; this covers the body too.
    static func withTimeout<T: Sendable>(
        _ timeout: Duration,
        _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw TimeoutReached()
            }
            return value
        }
    }

    /// The query string for `pairs`, percent-encoded, with its leading `?` (empty for no pairs).
    static func queryString(_ pairs: [(String, String)]) -> String {
        guard !pairs.isEmpty else { return "" }
        return "?" + pairs.map { "\(percentEncoded($0.0))=\(percentEncoded($0.1))" }.joined(separator: "&")
    }

    /// One path segment, percent-encoded so an id cannot change the path (`../`, `?`, `/`).
    static func pathSegment(_ text: String) -> String {
        percentEncoded(text)
    }

    private static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        if bytes.allSatisfy({ $0 == UInt8(ascii: ".") }) {
            // "." and ".." are path navigation, not names.
            return String(repeating: "%2E", count: bytes.count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The headers of a client's request that may go to the platform: no credentials, no hop-by-hop headers.
    static func passThroughHeaders(_ headers: HTTPHeaders) -> HTTPHeaders {
        var connectionTokens: Set<String> = []
        for value in headers[canonicalForm: "Connection"] {
            connectionTokens.insert(value.lowercased())
        }
        var result = HTTPHeaders()
        for (name, value) in headers {
            let lower = name.lowercased()
            if droppedHeaders.contains(lower) || connectionTokens.contains(lower) { continue }
            result.add(name: name, value: value)
        }
        return result
    }

    private static let droppedHeaders: Set<String> = [
        "authorization", "proxy-authorization", "cookie", "host", "content-length", "connection", "keep-alive",
        "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "expect",
    ]
}

/// The whole-answer timeout of ``AGPClient/withTimeout(_:_:)`` ran out.
struct TimeoutReached: Error {}
