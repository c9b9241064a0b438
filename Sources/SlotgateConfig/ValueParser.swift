//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateCore

/// What is wrong with one value, in words that follow the key's name: `must be a whole number ≥ 1`.
struct ValueProblem: Error, Hashable {
    var problem: String

    init(_ problem: String) {
        self.problem = problem
    }
}

/// Parsers for the value kinds of the key table. Every value arrives as text, whichever layer set it,
/// so the rules and the messages are the same for the file, the environment and the flags.
enum ValueParser {
    /// A number of seconds (fractions allowed), kept to the millisecond.
    static func seconds(_ text: String, above lower: Double, atMost upper: Double) throws(ValueProblem) -> Duration {
        let rule = lower == 0 ? "> 0" : "> \(render(lower))"
        return try seconds(text, rule: "\(rule) and at most \(render(upper))") { $0 > lower && $0 <= upper }
    }

    /// A number of seconds (fractions allowed) in a closed range, kept to the millisecond.
    static func seconds(_ text: String, from lower: Double, to upper: Double) throws(ValueProblem) -> Duration {
        try seconds(text, rule: "from \(render(lower)) to \(render(upper))") { $0 >= lower && $0 <= upper }
    }

    private static func seconds(_ text: String, rule: String, accept: (Double) -> Bool) throws(ValueProblem) -> Duration {
        guard let value = number(text), accept(value) else {
            throw ValueProblem("must be a number of seconds \(rule)")
        }
        return .milliseconds(Int64((value * 1000).rounded()))
    }

    /// A number of seconds or a range `MIN-MAX` of them (fractions allowed, MIN ≤ MAX), each `> lower` and
    /// `≤ upper`, kept to the millisecond. A single number is the range of that one value.
    static func secondsRange(_ text: String, above lower: Double, atMost upper: Double) throws(ValueProblem) -> ClosedRange<Duration> {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        let rule = "must be a number of seconds or a range MIN-MAX of them, each > \(render(lower)) and at most \(render(upper))"
        let values = parts.compactMap { part in number(part).flatMap { $0 > lower && $0 <= upper ? $0 : nil } }
        guard values.count == parts.count, let first = values.first, let last = values.last, first <= last else {
            throw ValueProblem(rule + ", MIN ≤ MAX")
        }
        return .milliseconds(Int64((first * 1000).rounded()))...(.milliseconds(Int64((last * 1000).rounded())))
    }

    /// A number of hours (fractions allowed), kept to the second.
    static func hours(_ text: String, atLeastSeconds lower: Int64, atMost upper: Double) throws(ValueProblem) -> Duration {
        guard let value = number(text), value <= upper, (value * 3600).rounded() >= Double(lower) else {
            throw ValueProblem("must be a number of hours, at least \(lower / 60) minutes' worth and at most \(render(upper))")
        }
        return .seconds(Int64((value * 3600).rounded()))
    }

    /// A whole number, `≥ lower` and, when given, `≤ upper`.
    static func wholeNumber(_ text: String, atLeast lower: Int, atMost upper: Int? = nil) throws(ValueProblem) -> Int {
        let digits = text.hasPrefix("+") || text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy(isDigit), let value = Int(text), value >= lower, value <= (upper ?? Int.max)
        else {
            if let upper {
                throw ValueProblem("must be a whole number from \(lower) to \(upper)")
            }
            throw ValueProblem("must be a whole number ≥ \(lower)")
        }
        return value
    }

    /// `true`/`false`, also `yes`/`no`, `on`/`off`, `1`/`0`, in any case.
    static func bool(_ text: String) throws(ValueProblem) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ValueProblem("must be true or false")
        }
    }

    /// An octal file mode: `0660`, `660` or `0o660`, at most `0777`.
    static func fileMode(_ text: String) throws(ValueProblem) -> Int {
        let digits = text.lowercased().hasPrefix("0o") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy({ ("0"..."7").contains($0) }),
            let mode = Int(digits, radix: 8), mode <= 0o777
        else {
            throw ValueProblem("must be an octal file mode such as 0660, at most 0777")
        }
        return mode
    }

    /// An http or https URL with a host; a trailing slash is dropped.
    static func httpURL(_ text: String) throws(ValueProblem) -> URL {
        var trimmed = Substring(text)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let url = URL(string: String(trimmed)), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw ValueProblem("must be an http or https URL with a host")
        }
        return url
    }

    /// A PostgreSQL URL (`postgres://` or `postgresql://`) with a host, or empty for none.
    static func postgresURL(_ text: String) throws(ValueProblem) -> String? {
        guard !text.isEmpty else { return nil }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql",
            let host = url.host, !host.isEmpty
        else {
            throw ValueProblem("must be a postgres:// or postgresql:// URL with a host, or empty for local mode")
        }
        return text
    }

    /// A `host:port` (any address; the daemon warns at start when it is not loopback), or empty for none.
    static func listenAddress(_ text: String) throws(ValueProblem) -> ListenAddress? {
        guard !text.isEmpty else { return nil }
        guard let address = ListenAddress(parsing: text) else {
            throw ValueProblem(
                "must be host:port (an IPv4 address, [IPv6] or a host name, e.g. 127.0.0.1:9464) with a port from 1 to 65535, or empty"
            )
        }
        return address
    }

    /// `organization` or `uid`.
    static func sessionScope(_ text: String) throws(ValueProblem) -> SessionScope {
        guard let scope = SessionScope(rawValue: text.lowercased()) else {
            throw ValueProblem("must be organization or uid")
        }
        return scope
    }

    /// One of swift-log's level names, in any case.
    static func logLevel(_ text: String) throws(ValueProblem) -> Logger.Level {
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValueProblem("must be one of \(names)")
        }
        return level
    }

    /// A path: not empty, no NUL, at most `maxBytes` bytes of UTF-8 when given.
    static func path(_ text: String, maxBytes: Int? = nil) throws(ValueProblem) -> String {
        guard !text.isEmpty, !text.contains("\0") else {
            throw ValueProblem("must be a path")
        }
        if let maxBytes, text.utf8.count > maxBytes {
            throw ValueProblem("must be a path of at most \(maxBytes) bytes (the limit of a Unix socket address)")
        }
        return text
    }

    /// A name of printable ASCII without spaces (a group, a host id), at most `maxLength` characters.
    static func name(_ text: String, maxLength: Int, extraRule: String = "") throws(ValueProblem) -> String {
        guard !text.isEmpty, text.count <= maxLength, text.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw ValueProblem("must be a name of 1 to \(maxLength) printable ASCII characters without spaces\(extraRule)")
        }
        return text
    }

    /// `proxy.allow`: entries separated by commas (a YAML list arrives joined so), each `METHOD /api/v2/path`;
    /// empty forwards nothing.
    static func routePatterns(_ text: String) throws(ValueProblem) -> [ProxyRoutePattern] {
        var patterns: [ProxyRoutePattern] = []
        for entry in text.split(separator: ",") {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            do {
                patterns.append(try ProxyRoutePattern(parsing: trimmed))
            } catch {
                throw ValueProblem("must be a list of METHOD /api/v2/path entries: \(error)")
            }
        }
        return patterns
    }

    /// Seconds as the file spells them: `2`, `0.5`.
    static func render(seconds duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return render(milliseconds: milliseconds)
    }

    /// A range of seconds as the file spells it: `30-180`, or `5` when both ends are equal.
    static func render(secondsRange range: ClosedRange<Duration>) -> String {
        let low = render(seconds: range.lowerBound)
        return range.lowerBound == range.upperBound ? low : "\(low)-\(render(seconds: range.upperBound))"
    }

    /// Hours as the file spells them: `24`, `0.25`.
    static func render(hours duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 3600 == 0 { return String(seconds / 3600) }
        return render(Double(seconds) / 3600)
    }

    private static func render(milliseconds: Int64) -> String {
        if milliseconds % 1000 == 0 { return String(milliseconds / 1000) }
        return render(Double(milliseconds) / 1000)
    }

    private static func render(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private static func number(_ text: String) -> Double? {
        guard let value = Double(text), value.isFinite,
            text.allSatisfy({ isDigit($0) || $0 == "." || $0 == "+" || $0 == "-" || $0 == "e" || $0 == "E" })
        else { return nil }
        return value
    }

    private static func isDigit(_ character: Character) -> Bool {
        character.isASCII && character.isNumber
    }
}
