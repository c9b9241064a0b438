//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Reads query parameters the way FastAPI validates them, keeping the first failure as a 422 answer.
struct QueryParser {
    private let items: [(String, String)]
    /// The 422 answer for the first invalid parameter.
    private(set) var failure: APIReply?

    init(_ items: [(String, String)]) {
        self.items = items
    }

    /// Every value of a repeatable parameter.
    func all(_ name: String) -> [String] {
        self.items.filter { $0.0 == name }.map(\.1)
    }

    /// The first value of a parameter.
    func first(_ name: String) -> String? {
        self.items.first { $0.0 == name }?.1
    }

    /// An integer in `range`, or `defaultValue` when absent; nil (and ``failure`` set) when invalid.
    mutating func int(_ name: String, default defaultValue: Int, range: ClosedRange<Int>) -> Int? {
        switch self.optionalInt(name, range: range) {
        case .none: return nil
        case .some(let value): return value ?? defaultValue
        }
    }

    /// An optional integer in `range`: `.some(nil)` when absent, nil (and ``failure`` set) when invalid.
    mutating func optionalInt(_ name: String, range: ClosedRange<Int>) -> Int?? {
        guard let text = self.first(name) else { return .some(nil) }
        guard let value = Int(text) else {
            self.fail(name, "int_parsing", "Input should be a valid integer, unable to parse string as an integer", text)
            return nil
        }
        if value < range.lowerBound {
            self.fail(name, "greater_than_equal", "Input should be greater than or equal to \(range.lowerBound)", text)
            return nil
        }
        if value > range.upperBound {
            self.fail(name, "less_than_equal", "Input should be less than or equal to \(range.upperBound)", text)
            return nil
        }
        return .some(value)
    }

    /// A boolean, or `defaultValue` when absent; nil (and ``failure`` set) when invalid.
    mutating func bool(_ name: String, default defaultValue: Bool) -> Bool? {
        guard let text = self.first(name) else { return defaultValue }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            self.fail(name, "bool_parsing", "Input should be a valid boolean, unable to interpret input", text)
            return nil
        }
    }

    /// Each value must be one of `allowed`; nil (and ``failure`` set) otherwise.
    mutating func values(_ name: String, allowed: Set<String>) -> [String]? {
        let values = self.all(name)
        if let bad = values.first(where: { !allowed.contains($0) }) {
            let expected = allowed.sorted().map { "'\($0)'" }.joined(separator: ", ")
            self.fail(name, "enum", "Input should be \(expected)", bad)
            return nil
        }
        return values
    }

    private mutating func fail(_ name: String, _ type: String, _ msg: String, _ input: String) {
        if self.failure == nil {
            self.failure = .invalidQuery(name, msg: msg, input: input, type: type)
        }
    }
}
