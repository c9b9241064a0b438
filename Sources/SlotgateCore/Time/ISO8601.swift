//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// RFC 3339 / ISO 8601 timestamps in UTC, written and read without Foundation.
///
/// The core must not depend on formatters with locale or time-zone state; this is the one
/// place where `Timestamp` meets text.
public enum ISO8601 {
    /// Formats a timestamp as `2026-11-29T12:00:00.120Z` (milliseconds, UTC).
    /// - Parameter timestamp: the instant to format.
    public static func format(_ timestamp: Timestamp) -> String {
        withUTF8(timestamp) { String(decoding: $0, as: UTF8.self) }
    }

    /// Hands `body` the UTF-8 bytes of `format(_:)` without making a `String` (answers write them straight into
    /// their buffer).
    /// - Parameters:
    ///   - timestamp: the instant to format.
    ///   - body: reads the bytes; they are valid only during the call.
    public static func withUTF8<Result>(_ timestamp: Timestamp, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let millis = timestamp.millisecondsSinceEpoch
        var days = millis / 86_400_000
        var msOfDay = millis % 86_400_000
        if msOfDay < 0 {
            msOfDay += 86_400_000
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        let (hour, minute, second, ms) = (msOfDay / 3_600_000, (msOfDay / 60_000) % 60, (msOfDay / 1000) % 60, msOfDay % 1000)
        guard (0...9999).contains(year) else {
            // Five-digit or negative years: rare enough for the slow path.
            let text = "\(year)-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2)).\(pad(ms, 3))Z"
            return try text.utf8.withContiguousStorageIfAvailable { try body(UnsafeRawBufferPointer($0)) }
                ?? Array(text.utf8).withUnsafeBytes(body)
        }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { bytes in
            var index = 0
            func put(_ value: Int64, _ width: Int, then separator: UInt8?) {
                var value = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    bytes[position] = UInt8(truncatingIfNeeded: 48 + value % 10)
                    value /= 10
                }
                index += width
                if let separator {
                    bytes[index] = separator
                    index += 1
                }
            }
            put(year, 4, then: UInt8(ascii: "-"))
            put(month, 2, then: UInt8(ascii: "-"))
            put(day, 2, then: UInt8(ascii: "T"))
            put(hour, 2, then: UInt8(ascii: ":"))
            put(minute, 2, then: UInt8(ascii: ":"))
            put(second, 2, then: UInt8(ascii: "."))
            put(ms, 3, then: UInt8(ascii: "Z"))
            return try body(UnsafeRawBufferPointer(start: bytes.baseAddress, count: index))
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; returns nil for anything else.
    /// - Parameter text: the text to parse.
    public static func parse(_ text: String) -> Timestamp? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int64? {
            guard start + length <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[start..<(start + length)] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), bytes[4] == 45, let month = number(5, 2), bytes[7] == 45,
            let day = number(8, 2), bytes[10] == 84 || bytes[10] == 116 || bytes[10] == 32,
            let hour = number(11, 2), bytes[13] == 58, let minute = number(14, 2), bytes[16] == 58,
            let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var nanos: Int64 = 0
        if index < bytes.count, bytes[index] == 46 {
            index += 1
            var scale: Int64 = 100_000_000
            let start = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                nanos += Int64(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offsetSeconds: Int64 = 0
        if index < bytes.count, bytes[index] == 90 || bytes[index] == 122 {
            index += 1
        } else if index < bytes.count, bytes[index] == 43 || bytes[index] == 45 {
            let sign: Int64 = bytes[index] == 45 ? -1 : 1
            guard let offsetHours = number(index + 1, 2) else { return nil }
            var offsetMinutes: Int64 = 0
            if index + 3 < bytes.count, bytes[index + 3] == 58 {
                guard let value = number(index + 4, 2) else { return nil }
                offsetMinutes = value
                index += 6
            } else if let value = number(index + 3, 2) {
                offsetMinutes = value
                index += 5
            } else {
                index += 3
            }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            // A time without a zone is read as UTC, which is what the platform means.
        }
        guard index == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Timestamp(nanosecondsSinceEpoch: seconds * 1_000_000_000 + nanos)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    // Howard Hinnant's civil-from-days and days-from-civil algorithms.
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
