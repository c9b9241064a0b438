//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A coding key made from a string, for the control-route types.
///
/// The control JSON uses snake_case keys. A client may decode it with a plain `JSONDecoder` or with
/// `.convertFromSnakeCase`, so decoding accepts a key in either spelling.
struct SimulatorCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ stringValue: String) {
        self.stringValue = stringValue
    }

    init?(stringValue: String) {
        self.stringValue = stringValue
    }

    init?(intValue: Int) {
        nil
    }

    /// `retry_after_seconds` → `retryAfterSeconds`, as `.convertFromSnakeCase` would turn it.
    static func camelCase(_ snake: String) -> String {
        let parts = snake.split(separator: "_")
        guard let first = parts.first else { return snake }
        return String(first) + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}

extension KeyedDecodingContainer where Key == SimulatorCodingKey {
    /// Decodes the value under `snake` or its camelCase spelling; nil when neither is present or the value is null.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, snakeKey snake: String) throws -> T? {
        for name in [snake, SimulatorCodingKey.camelCase(snake)] where self.contains(SimulatorCodingKey(name)) {
            return try self.decodeIfPresent(type, forKey: SimulatorCodingKey(name))
        }
        return nil
    }

    /// Decodes a required value under `snake` or its camelCase spelling.
    func decode<T: Decodable>(_ type: T.Type, snakeKey snake: String) throws -> T {
        guard let value = try self.decodeIfPresent(type, snakeKey: snake) else {
            throw DecodingError.keyNotFound(
                SimulatorCodingKey(snake),
                .init(codingPath: self.codingPath, debugDescription: "missing \(snake)")
            )
        }
        return value
    }
}
