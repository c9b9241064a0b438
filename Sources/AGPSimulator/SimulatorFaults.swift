//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Faults the simulator injects, consumed request by request. Control routes (`/_sim/...`) never see them.
///
/// Order of precedence for one request: a server error burst, then 503, then an injected 429 (creates only).
/// `slowMilliseconds` delays every answer, faulty or not, while it is set.
public struct SimulatorFaults: Sendable, Codable, Equatable {
    /// The next N requests answer 500 and 502 alternately, starting with 500.
    public var serverErrors: Int = 0
    /// The next N requests answer 503 with `Retry-After: retryAfterSeconds` (no header when it is 0).
    public var unavailable: Int = 0
    /// The `Retry-After` value, in seconds, of injected 503 and 429 answers.
    public var retryAfterSeconds: Int = 1
    /// The next N creates answer 429 without touching the limit or idempotency state.
    public var tooManyRequests: Int = 0
    /// Whether injected 429 answers carry `Retry-After: retryAfterSeconds`.
    public var tooManyRetryAfter: Bool = false
    /// Every answer (within ``routes``) is delayed by this many milliseconds while it is set.
    public var slowMilliseconds: Int = 0
    /// While set, `GET /sessions` answers 403 (a key that may not list the organization's sessions, agp-api.md U8).
    public var listRefused: Bool = false
    /// Limits faults to these route names (`create`, `quota`, `tokens`, `list`, `status`, `get`, `cancel`, `other`);
    /// `nil` means every route.
    public var routes: [String]? = nil

    /// Creates a fault set; with no arguments, no faults.
    /// - Parameters:
    ///   - serverErrors: number of 500/502 answers to give.
    ///   - unavailable: number of 503 answers to give.
    ///   - retryAfterSeconds: `Retry-After` value for 503 and 429.
    ///   - tooManyRequests: number of creates to answer with an injected 429.
    ///   - tooManyRetryAfter: whether injected 429s carry `Retry-After`.
    ///   - slowMilliseconds: delay added to every answer.
    ///   - routes: route names the faults apply to; nil for all.
    public init(
        serverErrors: Int = 0,
        unavailable: Int = 0,
        retryAfterSeconds: Int = 1,
        tooManyRequests: Int = 0,
        tooManyRetryAfter: Bool = false,
        slowMilliseconds: Int = 0,
        routes: [String]? = nil
    ) {
        self.serverErrors = serverErrors
        self.unavailable = unavailable
        self.retryAfterSeconds = retryAfterSeconds
        self.tooManyRequests = tooManyRequests
        self.tooManyRetryAfter = tooManyRetryAfter
        self.slowMilliseconds = slowMilliseconds
        self.routes = routes
    }

    /// Decodes snake_case keys (and their camelCase spellings); absent keys keep their defaults.
    /// - Parameter decoder: the decoder to read from.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: SimulatorCodingKey.self)
        self.init()
        self.serverErrors = try container.decodeIfPresent(Int.self, snakeKey: "server_errors") ?? 0
        self.unavailable = try container.decodeIfPresent(Int.self, snakeKey: "unavailable") ?? 0
        self.retryAfterSeconds = try container.decodeIfPresent(Int.self, snakeKey: "retry_after_seconds") ?? 1
        self.tooManyRequests = try container.decodeIfPresent(Int.self, snakeKey: "too_many_requests") ?? 0
        self.tooManyRetryAfter = try container.decodeIfPresent(Bool.self, snakeKey: "too_many_retry_after") ?? false
        self.slowMilliseconds = try container.decodeIfPresent(Int.self, snakeKey: "slow_milliseconds") ?? 0
        self.listRefused = try container.decodeIfPresent(Bool.self, snakeKey: "list_refused") ?? false
        self.routes = try container.decodeIfPresent([String].self, snakeKey: "routes")
    }

    /// Encodes with snake_case keys; `routes` is written as null when unset.
    /// - Parameter encoder: the encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: SimulatorCodingKey.self)
        try container.encode(self.serverErrors, forKey: .init("server_errors"))
        try container.encode(self.unavailable, forKey: .init("unavailable"))
        try container.encode(self.retryAfterSeconds, forKey: .init("retry_after_seconds"))
        try container.encode(self.tooManyRequests, forKey: .init("too_many_requests"))
        try container.encode(self.tooManyRetryAfter, forKey: .init("too_many_retry_after"))
        try container.encode(self.slowMilliseconds, forKey: .init("slow_milliseconds"))
        try container.encode(self.listRefused, forKey: .init("list_refused"))
        if let routes = self.routes {
            try container.encode(routes, forKey: .init("routes"))
        } else {
            try container.encodeNil(forKey: .init("routes"))
        }
    }
}
