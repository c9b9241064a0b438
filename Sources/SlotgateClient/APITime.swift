//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The API's instants: ISO-8601 in UTC, with or without fractional seconds (`2026-11-29T12:00:03.480Z`).
public enum APITime {
    /// Parses an API timestamp.
    /// - Parameter text: the timestamp as the API sends it.
    /// - Returns: the instant, or nil when the text is not ISO-8601.
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
