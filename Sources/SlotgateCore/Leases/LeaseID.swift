//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A lease's id: `lse_` followed by a 26-character ULID (48 bits of milliseconds, 80 random bits).
///
/// Ids sort by creation time, which keeps listings and the ledger in grant order.
public struct LeaseID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The id as clients see it.
    public let rawValue: String

    /// Wraps an existing id; returns nil unless it has the `lse_` form.
    /// - Parameter rawValue: the id text.
    public init?(rawValue: String) {
        guard rawValue.hasPrefix("lse_"), rawValue.utf8.count == 30,
            rawValue.utf8.dropFirst(4).allSatisfy({ Self.alphabet.contains($0) })
        else { return nil }
        self.rawValue = rawValue
    }

    /// Makes a new id for a lease requested at `time`.
    /// - Parameters:
    ///   - time: the request time; its milliseconds lead the id.
    ///   - random: the source of the 80 random bits.
    public init(time: Timestamp, random: inout some RandomNumberGenerator) {
        var value = UInt128(UInt64(clamping: max(0, time.millisecondsSinceEpoch)) & 0xFFFF_FFFF_FFFF) << 80
        value |= UInt128(random.next() as UInt64) << 16
        value |= UInt128(random.next() as UInt16)
        var characters = [UInt8](repeating: 0, count: 26)
        for index in (0..<26).reversed() {
            characters[index] = Self.alphabet[Int(value & 31)]
            value >>= 5
        }
        self.rawValue = "lse_" + String(decoding: characters, as: UTF8.self)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = LeaseID(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a lease id"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: LeaseID, rhs: LeaseID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }

    /// Crockford's base 32, as ULIDs use it.
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
}

/// A small, fast, seedable generator (SplitMix64), so a seed replays a run exactly.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator.
    /// - Parameter seed: the seed; equal seeds give equal sequences.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// Creates a generator seeded from the system's random source.
    public init() {
        var system = SystemRandomNumberGenerator()
        self.state = system.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
