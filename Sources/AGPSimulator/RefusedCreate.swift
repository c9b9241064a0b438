//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// One create the simulator answered with 429 because the limit was reached.
public struct RefusedCreate: Sendable, Codable, Equatable {
    /// When it was refused, ISO 8601 in UTC with milliseconds.
    public var at: String
    /// The count the limit was checked against (lag-hidden sessions included).
    public var active: Int
    /// The limit at that moment.
    public var limit: Int
    /// The create's `Idempotency-Key`, if it had one.
    public var idempotencyKey: String?

    /// Creates a record.
    /// - Parameters:
    ///   - at: the time of the refusal, ISO 8601.
    ///   - active: the count checked against the limit.
    ///   - limit: the limit.
    ///   - idempotencyKey: the request's key, if any.
    public init(at: String, active: Int, limit: Int, idempotencyKey: String?) {
        self.at = at
        self.active = active
        self.limit = limit
        self.idempotencyKey = idempotencyKey
    }

    /// Decodes snake_case keys (and their camelCase spellings).
    /// - Parameter decoder: the decoder to read from.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: SimulatorCodingKey.self)
        self.at = try container.decode(String.self, snakeKey: "at")
        self.active = try container.decode(Int.self, snakeKey: "active")
        self.limit = try container.decode(Int.self, snakeKey: "limit")
        self.idempotencyKey = try container.decodeIfPresent(String.self, snakeKey: "idempotency_key")
    }

    /// Encodes with snake_case keys; a missing key is written as null.
    /// - Parameter encoder: the encoder to write to.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: SimulatorCodingKey.self)
        try container.encode(self.at, forKey: .init("at"))
        try container.encode(self.active, forKey: .init("active"))
        try container.encode(self.limit, forKey: .init("limit"))
        if let key = self.idempotencyKey {
            try container.encode(key, forKey: .init("idempotency_key"))
        } else {
            try container.encodeNil(forKey: .init("idempotency_key"))
        }
    }
}
