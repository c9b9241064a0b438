//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The billing period that `/quota/tokens` reports as `window_start` and `window_end`.
///
/// The platform resets token allowances monthly (agp-api.md §9), so by default the simulator reports the
/// calendar month (UTC) around its own clock: the window is open whatever the date, in tests and demos alike.
///
/// ```swift
/// configuration.tokenWindow = .currentMonth(endKnown: false)   // window_end: null
/// configuration.tokenWindow = .fixed(start: "2026-06-01T00:00:00Z", end: "2026-07-01T00:00:00Z")
/// ```
public struct TokenWindow: Sendable, Equatable {
    private enum Kind: Sendable, Equatable {
        case currentMonth(endKnown: Bool)
        case fixed(start: String, end: String?)
    }

    private let kind: Kind

    /// The calendar month (UTC) that holds the simulator's current time: the first instant of the month to the
    /// first instant of the next one.
    /// - Parameter endKnown: `false` sends `window_end` as null.
    public static func currentMonth(endKnown: Bool = true) -> TokenWindow {
        TokenWindow(kind: .currentMonth(endKnown: endKnown))
    }

    /// Fixed strings, sent as they are (for tests of a client's parsing).
    /// - Parameters:
    ///   - start: `window_start`.
    ///   - end: `window_end`, or nil for null.
    public static func fixed(start: String, end: String?) -> TokenWindow {
        TokenWindow(kind: .fixed(start: start, end: end))
    }

    /// `window_start` and `window_end` as sent at `now`.
    func bounds(at now: Date) -> (start: String, end: String?) {
        switch self.kind {
        case .fixed(let start, let end):
            return (start, end)
        case .currentMonth(let endKnown):
            let (start, end) = Self.month(around: now)
            return (Self.format(start), endKnown ? Self.format(end) : nil)
        }
    }

    /// The instant the window opened at `now`, for counting token use in it; nil for a fixed window.
    func opening(at now: Date) -> Date? {
        switch self.kind {
        case .fixed: nil
        case .currentMonth: Self.month(around: now).start
        }
    }

    /// The first instants of the UTC month holding `now` and of the month after it.
    static func month(around now: Date) -> (start: Date, end: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month], from: now)
        let start = calendar.date(from: parts) ?? now
        let end = calendar.date(byAdding: .month, value: 1, to: start) ?? start.addingTimeInterval(31 * 86_400)
        return (start, end)
    }

    private static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
