//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension SlotgateClient {
    /// `POST /v1/leases?stream=1`: waits for a slot and reports the place in the queue as it changes.
    ///
    /// The sequence yields `queued` events, then one `granted` event, and ends; a refusal (`wait_timeout`,
    /// `queue_full`, `shutting_down`, …) ends it with a ``ClientError``. Dropping the sequence before the grant
    /// closes the connection, which takes the request out of the daemon's queue.
    /// - Parameters:
    ///   - holder: who asks.
    ///   - priority: -10…10; nil is 0.
    ///   - wait: seconds to wait (0 = try once); nil is the daemon's default.
    ///   - ttl: claim TTL in seconds; nil is the daemon's default.
    public func acquireEvents(
        holder: String? = nil,
        priority: Int? = nil,
        wait: Double? = nil,
        ttl: Double? = nil
    ) -> AsyncThrowingStream<AcquireEvent, any Error> {
        let endpoint = Endpoint.acquire(holder: holder, priority: priority, wait: wait, ttl: ttl, stream: true)
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: AcquireEvent.self, throwing: (any Error).self)
        let task = Task {
            do {
                try await self.streamEvents(endpoint, into: continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Waits for a slot like ``acquire(holder:priority:wait:ttl:)`` but over the streamed endpoint, calling
    /// `onQueued` with the position, the number of waiters and the estimated wait whenever they change.
    /// - Parameters:
    ///   - holder: who asks.
    ///   - priority: -10…10; nil is 0.
    ///   - wait: seconds to wait (0 = try once); nil is the daemon's default.
    ///   - ttl: claim TTL in seconds; nil is the daemon's default.
    ///   - onQueued: called with `(position, waiting, eta)` while the request waits; `eta` is the estimated seconds
    ///     until the grant, nil when the daemon has no history to estimate from.
    /// - Returns: the granted lease.
    public func acquire(
        holder: String? = nil,
        priority: Int? = nil,
        wait: Double? = nil,
        ttl: Double? = nil,
        onQueued: @Sendable (_ position: Int, _ waiting: Int, _ eta: Double?) async -> Void
    ) async throws(ClientError) -> Lease {
        do {
            for try await event in acquireEvents(holder: holder, priority: priority, wait: wait, ttl: ttl) {
                switch event {
                case .queued(let position, let waiting, let eta): await onQueued(position, waiting, eta)
                case .granted(let lease): return lease
                }
            }
        } catch {
            throw classify(error)
        }
        throw ClientError.unreachable(socket: socketPath, reason: .connectionClosed)
    }

    private typealias EventContinuation = AsyncThrowingStream<AcquireEvent, any Error>.Continuation

    private func streamEvents(_ endpoint: Endpoint, into continuation: EventContinuation) async throws(ClientError) {
        let headers = [("Content-Type", "application/json"), ("Accept", "application/x-ndjson")]
        let request = try makeRequest(method: endpoint.method, path: endpoint.path, headers: headers, body: endpoint.body)
        do {
            let response = try await httpClient.execute(request, timeout: .nanoseconds(Self.nanoseconds(endpoint.timeout)))
            guard response.status.code == 200 else {
                let bytes = try await response.body.collect(upTo: Self.maxBodyBytes)
                let answer = RawAnswer(
                    status: Int(response.status.code),
                    headers: response.headers.map { (name: $0.name, value: $0.value) },
                    body: Data(bytes.readableBytesView)
                )
                throw Self.apiError(answer)
            }
            var pending = Data()
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = pending[pending.startIndex..<newline]
                    pending.removeSubrange(pending.startIndex...newline)
                    guard let event = try Self.event(from: line) else { continue }
                    continuation.yield(event)
                    if case .granted = event { return }
                }
            }
        } catch {
            throw classify(error)
        }
        throw ClientError.unreachable(socket: socketPath, reason: .connectionClosed)
    }

    /// One NDJSON line: an event, nil for blank lines and unknown events, or the refusal as an error.
    static func event(from line: Data) throws(ClientError) -> AcquireEvent? {
        struct Line: Decodable {
            struct Detail: Decodable {
                var code: String
                var message: String?
            }
            var event: String
            var position: Int?
            var waiting: Int?
            var eta: Double?
            var lease: Lease?
            var error: Detail?

            enum CodingKeys: String, CodingKey {
                case event, position, waiting, lease, error
                case eta = "eta_s"
            }
        }
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return nil }
        let parsed: Line
        do {
            parsed = try JSONDecoder().decode(Line.self, from: line)
        } catch {
            throw ClientError.badAnswer(status: 200, detail: "unreadable stream event: \(error)")
        }
        switch parsed.event {
        case "queued":
            return .queued(position: parsed.position ?? 0, waiting: parsed.waiting ?? 0, eta: parsed.eta)
        case "granted":
            guard let lease = parsed.lease else { throw ClientError.badAnswer(status: 200, detail: "a granted event without a lease") }
            return .granted(lease)
        case "error":
            let detail = parsed.error
            // The daemon answers refusals in the stream the way it would as 503s (or 400/409 for bad requests).
            let status = detail.map { ["bad_request": 400, "lease_conflict": 409][$0.code] ?? 503 } ?? 503
            throw ClientError.api(status: status, code: detail?.code ?? "unknown", message: detail?.message ?? "")
        default:
            return nil
        }
    }
}
