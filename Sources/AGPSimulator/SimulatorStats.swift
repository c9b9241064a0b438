//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What the simulator saw, for tests that must prove nothing was refused and the limit was never exceeded.
///
/// Read it with ``SimulatedPlatform/stats()`` or `GET /_sim/stats` (snake_case keys).
public struct SimulatorStats: Sendable, Codable, Equatable {
    /// New sessions created through `POST /sessions` (replays and external sessions not counted).
    public var createsAccepted: Int
    /// Creates answered 429 because of the limit (not injected faults).
    public var createsRefused: Int
    /// 429s answered because of ``SimulatorFaults/tooManyRequests``.
    public var injected429: Int
    /// Highest number of non-terminal sessions ever at once, every owner, queued and lag-hidden ones included.
    public var peakNonTerminal: Int
    /// Non-terminal sessions now (every owner, queued included).
    public var nonTerminal: Int
    /// The current limit.
    public var limit: Int
    /// Requests by route name: `create`, `quota`, `tokens`, `list`, `status`, `get`, `cancel`, `other`.
    public var requests: [String: Int]
    /// Each limit refusal of a create, oldest first.
    public var refused: [RefusedCreate]
    /// Sessions created through ``SimulatedPlatform/createExternalSession(runDuration:)`` or `POST /_sim/external`.
    public var externalCreated: Int
    /// Messages to terminal sessions answered 429 because a restart would exceed the limit.
    public var restartsRefused: Int

    /// Creates a stats value.
    /// - Parameters:
    ///   - createsAccepted: sessions created through the API.
    ///   - createsRefused: creates refused at the limit.
    ///   - injected429: injected 429 answers.
    ///   - peakNonTerminal: highest number of non-terminal sessions at once.
    ///   - nonTerminal: non-terminal sessions now.
    ///   - limit: the current limit.
    ///   - requests: requests by route name.
    ///   - refused: the refusals.
    ///   - externalCreated: sessions created behind the client's back.
    ///   - restartsRefused: restarts refused at the limit.
    public init(
        createsAccepted: Int = 0,
        createsRefused: Int = 0,
        injected429: Int = 0,
        peakNonTerminal: Int = 0,
        nonTerminal: Int = 0,
        limit: Int = 0,
        requests: [String: Int] = [:],
        refused: [RefusedCreate] = [],
        externalCreated: Int = 0,
        restartsRefused: Int = 0
    ) {
        self.createsAccepted = createsAccepted
        self.createsRefused = createsRefused
        self.injected429 = injected429
        self.peakNonTerminal = peakNonTerminal
        self.nonTerminal = nonTerminal
        self.limit = limit
        self.requests = requests
        self.refused = refused
        self.externalCreated = externalCreated
        self.restartsRefused = restartsRefused
    }

    /// Decodes snake_case keys (and their camelCase spellings).
    /// - Parameter decoder: the decoder to read from.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: SimulatorCodingKey.self)
        self.createsAccepted = try container.decode(Int.self, snakeKey: "creates_accepted")
        self.createsRefused = try container.decode(Int.self, snakeKey: "creates_refused")
        self.injected429 = try container.decode(Int.self, snakeKey: "injected_429")
        self.peakNonTerminal = try container.decode(Int.self, snakeKey: "peak_non_terminal")
        self.nonTerminal = try container.decode(Int.self, snakeKey: "non_terminal")
        self.limit = try container.decode(Int.self, snakeKey: "limit")
        self.requests = try container.decodeIfPresent([String: Int].self, snakeKey: "requests") ?? [:]
        self.refused = try container.decodeIfPresent([RefusedCreate].self, snakeKey: "refused") ?? []
        self.externalCreated = try container.decodeIfPresent(Int.self, snakeKey: "external_created") ?? 0
        self.restartsRefused = try container.decodeIfPresent(Int.self, snakeKey: "restarts_refused") ?? 0
    }

    /// Encodes with snake_case keys.
    /// - Parameter encoder: the encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: SimulatorCodingKey.self)
        try container.encode(self.createsAccepted, forKey: .init("creates_accepted"))
        try container.encode(self.createsRefused, forKey: .init("creates_refused"))
        try container.encode(self.injected429, forKey: .init("injected_429"))
        try container.encode(self.peakNonTerminal, forKey: .init("peak_non_terminal"))
        try container.encode(self.nonTerminal, forKey: .init("non_terminal"))
        try container.encode(self.limit, forKey: .init("limit"))
        try container.encode(self.requests, forKey: .init("requests"))
        try container.encode(self.refused, forKey: .init("refused"))
        try container.encode(self.externalCreated, forKey: .init("external_created"))
        try container.encode(self.restartsRefused, forKey: .init("restarts_refused"))
    }
}
