//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A path under the platform's `/api/v2/`, checked so that what is matched is what the platform gets: split into
/// its segments and percent-decoded, with every segment that could mean something else to a server on the way
/// refused (dot segments, empty ones, encoded slashes and backslashes, control characters, `;` parameters, `%`
/// left after decoding).
public struct PlatformPath: Sendable, Hashable {
    /// The decoded segments after `/api/v2`.
    public let segments: [String]

    /// Why a path cannot be forwarded.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// Checks a request's raw path (as sent, not decoded).
    /// - Parameter raw: the path, starting `/api/v2/`, without its query.
    public init(raw: String) throws(Problem) {
        guard raw.hasPrefix("/api/v2/") else { throw Problem(description: "it is not under /api/v2/") }
        var segments: [String] = []
        for rawSegment in raw.dropFirst("/api/v2/".count).split(separator: "/", omittingEmptySubsequences: false) {
            guard !rawSegment.isEmpty else { throw Problem(description: "it has an empty segment (//, or a trailing /)") }
            guard let decoded = Self.percentDecoded(rawSegment) else {
                throw Problem(description: "it has a malformed percent-encoding or bytes that are not UTF-8")
            }
            guard decoded != ".", decoded != ".." else { throw Problem(description: "it has a dot segment") }
            guard
                !decoded.unicodeScalars.contains(where: { $0 == "/" || $0 == "\\" || $0 == ";" || $0 == "%" || $0.value < 0x20 || $0.value == 0x7F })
            else {
                throw Problem(description: "a segment holds an encoded slash, a backslash, a ';', a '%' or a control character")
            }
            segments.append(decoded)
        }
        self.segments = segments
    }

    /// The text of `segment` with its `%XX` escapes decoded, or nil when an escape is malformed or the bytes are
    /// not UTF-8.
    static func percentDecoded(_ segment: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = segment.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// One entry of `proxy.allow`: `METHOD /api/v2/path-glob`. The method is a token (`GET`, `POST`, …) or `*` for
/// any; in the path, `*` stands for one segment and a final `**` for one or more (as in .gitignore,
/// `/api/v2/sessions/**` does not match `/api/v2/sessions` itself).
public struct ProxyRoutePattern: Sendable, Hashable, CustomStringConvertible {
    enum Segment: Sendable, Hashable {
        case literal(String)
        case one
        case oneOrMore
    }

    /// The method, or nil for any.
    public let method: String?
    let segments: [Segment]
    /// The pattern as written.
    public let description: String

    /// Why a pattern is refused, for the config error.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        public let description: String
    }

    /// The default: the session and quota routes that the SDK's session workflow uses.
    public static let defaults: [ProxyRoutePattern] = ["* /api/v2/sessions", "* /api/v2/sessions/**", "* /api/v2/quota/**"].compactMap {
        try? ProxyRoutePattern(parsing: $0)
    }

    /// Parses `METHOD /api/v2/path-glob`.
    /// - Parameter text: the entry.
    public init(parsing text: String) throws(Problem) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw Problem(description: "\"\(text)\" is not METHOD /api/v2/path (one method or *, a space, one path)")
        }
        let method = String(parts[0])
        guard method == "*" || (method.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) } && !method.isEmpty) else {
            throw Problem(description: "\"\(method)\" is not a method: write it in capitals (GET, POST, …) or * for any")
        }
        let path: PlatformPath
        do {
            path = try PlatformPath(raw: String(parts[1]))
        } catch {
            throw Problem(description: "\"\(parts[1])\" cannot be a path under /api/v2/: \(error)")
        }
        var segments: [Segment] = []
        for (index, segment) in path.segments.enumerated() {
            switch segment {
            case "*": segments.append(.one)
            case "**":
                guard index == path.segments.count - 1 else { throw Problem(description: "** may only end a path, as in \"/api/v2/sessions/**\"") }
                segments.append(.oneOrMore)
            default:
                guard !segment.contains("*") else { throw Problem(description: "\"\(segment)\": * stands for a whole segment, not part of one") }
                segments.append(.literal(segment))
            }
        }
        self.method = method == "*" ? nil : method
        self.segments = segments
        self.description = "\(method) /api/v2/" + path.segments.joined(separator: "/")
    }

    /// Whether a request with `method` on `path` is allowed by this entry.
    /// - Parameters:
    ///   - method: the request's method.
    ///   - path: the checked path.
    public func matches(method: String, path: PlatformPath) -> Bool {
        if let allowed = self.method, allowed != method { return false }
        var index = 0
        for segment in segments {
            switch segment {
            case .oneOrMore:
                return path.segments.count > index
            case .one:
                guard index < path.segments.count else { return false }
            case .literal(let text):
                guard index < path.segments.count, path.segments[index] == text else { return false }
            }
            index += 1
        }
        return index == path.segments.count
    }
}

extension Array where Element == ProxyRoutePattern {
    /// Whether any entry allows `method` on `path`.
    /// - Parameters:
    ///   - method: the request's method.
    ///   - path: the checked path.
    public func allows(method: String, path: PlatformPath) -> Bool {
        contains { $0.matches(method: method, path: path) }
    }
}
