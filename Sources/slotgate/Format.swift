//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateClient
import SlotgateCore

/// Human forms of the API's numbers and times.
enum Format {
    /// Milliseconds as `0.8 s`, `12 s`, `3 min 2 s`, `2 h 5 min`.
    static func milliseconds(_ ms: Int64) -> String {
        if ms < 10_000 { return String(format: "%.1f s", Double(ms) / 1000) }
        let seconds = ms / 1000
        if seconds < 120 { return "\(seconds) s" }
        if seconds < 7200 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds / 3600) h \(seconds % 3600 / 60) min"
    }

    /// A holder as listed: its name, or for a request without one, the user name of its uid in parentheses (the
    /// fairness bucket it falls into: one per uid), `(uid 1234)` when the uid has no name.
    static func holder(_ holder: String, uid: UInt32?) -> String {
        guard holder.isEmpty else { return holder }
        guard let uid else { return "-" }
        return "(\(UserNames.name(of: uid) ?? "uid \(uid)"))"
    }

    /// Seconds as a duration.
    static func seconds(_ seconds: Double) -> String {
        milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// An estimated wait in seconds, rounded as a person would say it: `about 8 s`, `about 45 s`, `about 2 min`,
    /// `about 3 h`; nil when there is no estimate.
    static func estimate(_ seconds: Double?) -> String? {
        guard let seconds, seconds.isFinite else { return nil }
        let value = max(0, seconds)
        if value < 1 { return "any moment" }
        if value < 10 { return "about \(Int(value.rounded())) s" }
        if value < 90 { return "about \(Int((value / 5).rounded()) * 5) s" }
        if value < 90 * 60 { return "about \(Int((value / 60).rounded())) min" }
        return "about \(Int((value / 3600).rounded())) h"
    }

    /// An integer with thousands separators: `15,000,000`.
    static func count(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return value < 0 ? "-" + out : out
    }

    /// An API timestamp relative to now: `in 57 s`, `2 min 3 s ago`.
    static func relative(_ timestamp: String?, now: Date = Date()) -> String? {
        guard let timestamp, let date = APITime.parse(timestamp) else { return nil }
        let delta = date.timeIntervalSince(now)
        return delta >= 0 ? "in \(seconds(delta))" : "\(seconds(-delta)) ago"
    }
}
