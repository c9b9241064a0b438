//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// How the platform client reaches the platform.
public struct AGPClientConfiguration: Sendable {
    /// The API's base URL, ending in `/api/v2` (EU by default; US is `https://agp.hcompany.ai/api/v2`).
    public var baseURL: String
    /// The key sent as `Authorization: Bearer …`; nil sends no `Authorization` header.
    public var apiKey: APIKey?
    /// The longest wait for one request's complete answer (head and body).
    public var requestTimeout: Duration
    /// Retries of reads and cancels, and the backoff of creates.
    public var retry: RetryPolicy
    /// The largest answer body read, in bytes; a larger one fails as a decoding error.
    public var maxResponseBytes: Int
    /// The most pages of the session list read in one listing (100 sessions each).
    public var maxListPages: Int
    /// How the client waits between attempts; tests replace it to record or shorten waits.
    public var sleep: @Sendable (Duration) async throws -> Void
    /// Told of every attempt's outcome: the route and the HTTP status, or 0 when there was no answer (metrics).
    public var onAnswer: @Sendable (_ route: String, _ status: Int) -> Void = { _, _ in }

    /// Creates a configuration.
    /// - Parameters:
    ///   - baseURL: the API's base URL, ending in `/api/v2`.
    ///   - apiKey: the API key, or nil to send no `Authorization` header.
    ///   - requestTimeout: the longest wait for one request's complete answer (default 10 s).
    ///   - retry: the retry policy (default 3 attempts, 1 s doubling backoff with full jitter, capped at 60 s).
    ///   - maxResponseBytes: the largest answer body read (default 8 MiB).
    ///   - maxListPages: the most pages read in one listing (default 200, i.e. 20 000 sessions).
    ///   - sleep: how the client waits between attempts (default `Task.sleep`).
    public init(
        baseURL: String = "https://agp.eu.hcompany.ai/api/v2",
        apiKey: APIKey?,
        requestTimeout: Duration = .seconds(10),
        retry: RetryPolicy = RetryPolicy(),
        maxResponseBytes: Int = 8 << 20,
        maxListPages: Int = 200,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.requestTimeout = requestTimeout
        self.retry = retry
        self.maxResponseBytes = maxResponseBytes
        self.maxListPages = max(1, maxListPages)
        self.sleep = sleep
    }
}
