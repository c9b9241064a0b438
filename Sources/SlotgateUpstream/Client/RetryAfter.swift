//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// Reads a `Retry-After` header: a number of seconds or an HTTP date (RFC 9110 §10.2.3).
///
/// Dates are parsed without Foundation: the preferred IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// plus the obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`)
/// forms that recipients must still accept.
public enum RetryAfter {
    /// The delay a `Retry-After` value asks for, or nil when the value cannot be read.
    ///
    /// A date in the past gives `.zero`.
    /// - Parameters:
    ///   - value: the header value.
    ///   - now: the current time, to turn a date into a delay.
    public static func delay(_ value: String, now: Timestamp) -> Duration? {
        let text = value.trimmingWhitespace()
        guard !text.isEmpty else { return nil }
        if text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard text.utf8.count <= 9, let seconds = Int64(text) else { return nil }
            return .seconds(seconds)
        }
        guard let date = httpDate(text) else { return nil }
        let delay = now.duration(to: date)
        return delay > .zero ? delay : .zero
    }

    /// Parses an HTTP date in any of the three forms RFC 9110 allows; nil for anything else.
    /// - Parameter text: the date text.
    public static func httpDate(_ text: String) -> Timestamp? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        if parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT",
            let day = Int64(parts[1]), let month = month(parts[2]), parts[3].count == 4, let year = Int64(parts[3])
        {
            return timestamp(year: year, month: month, day: day, time: parts[4])
        }
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
        if parts.count == 4, parts[0].hasSuffix(","), parts[3] == "GMT" {
            let date = parts[1].split(separator: "-").map(String.init)
            guard date.count == 3, let day = Int64(date[0]), let month = month(date[1]), date[2].count == 2,
                let shortYear = Int64(date[2])
            else { return nil }
            // RFC 9110: a two-digit year more than 50 years in the future means the past century.
            let year = shortYear < 70 ? 2000 + shortYear : 1900 + shortYear
            return timestamp(year: year, month: month, day: day, time: parts[2])
        }
        // asctime: "Sun Nov  6 08:49:37 1994"
        if parts.count == 5, let month = month(parts[1]), let day = Int64(parts[2]), parts[4].count == 4, let year = Int64(parts[4]) {
            return timestamp(year: year, month: month, day: day, time: parts[3])
        }
        return nil
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func month(_ name: String) -> Int64? {
        months.firstIndex(of: name).map { Int64($0 + 1) }
    }

    private static func timestamp(year: Int64, month: Int64, day: Int64, time: String) -> Timestamp? {
        let fields = time.split(separator: ":").map(String.init)
        guard fields.count == 3, fields.allSatisfy({ $0.count == 2 }),
            let hour = Int64(fields[0]), let minute = Int64(fields[1]), let second = Int64(fields[2]),
            (1...31).contains(day), hour < 24, minute < 60, second < 61, (1...9999).contains(year)
        else { return nil }
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return ISO8601.parse("\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))Z")
    }
}
