//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The read-only collection routes: list (§8), quota (§4.5) and token quota (§4.6).
extension PlatformModel {
    /// Owner scopes of the list, and whether each one shows other users' sessions.
    static let ownerScopes: [String: Bool] = [
        "me": false, "me-in-organization": false, "organization": true, "me-or-organization": true,
    ]

    /// GET /sessions. Lag-hidden sessions are left out; `total` counts every match.
    mutating func list(query: [(String, String)], caller: String, at now: Date) -> APIReply {
        self.advance(to: now)
        var parser = QueryParser(query)
        guard let page = parser.int("page", default: 1, range: 1...Int.max),
            let size = parser.int("size", default: 10, range: 1...100),
            let sorts = parser.values("sort", allowed: ["created_at", "-created_at"]),
            let statuses = parser.values("status", allowed: SimulatedSession.knownStatuses),
            let owners = parser.values("owner", allowed: Set(Self.ownerScopes.keys))
        else { return parser.failure ?? .detail(422, "Invalid query") }
        let othersVisible = Self.ownerScopes[owners.first ?? "me-in-organization"] ?? false
        let agents = parser.all("agent")
        let groupID = parser.first("group_id")
        let parentID = parser.first("parent_session_id")
        var matches = self.sessions.filter { session in
            guard self.isVisible(session, at: now), othersVisible || session.owner == caller else { return false }
            if !statuses.isEmpty, !statuses.contains(session.status(at: now)) { return false }
            if !agents.isEmpty, !agents.contains(where: { session.request["agent"] == .string($0) }) { return false }
            if let groupID, session.requestString("group_id") != groupID { return false }
            if let parentID, session.requestString("parent_session_id") != parentID { return false }
            return true
        }
        let ascending = (sorts.first ?? "-created_at") == "created_at"
        matches.sort { left, right in
            let order = (left.createdAt, left.sequence) < (right.createdAt, right.sequence)
            return ascending ? order : !order
        }
        return .json(200, Self.page(matches.map { self.summaryJSON($0, at: now) }, page: page, size: size))
    }

    /// GET /sessions/quota: `active` counts the visible non-terminal sessions in the caller's scope.
    /// `available` is `limit - active` as documented, so it goes negative after the limit is lowered below
    /// `active` (U9): clients must clamp it themselves.
    mutating func quota(caller: String, at now: Date) -> APIReply {
        self.advance(to: now)
        let active = self.sessions.reduce(0) { count, session in
            self.isVisible(session, at: now) && self.countsAsActive(session, for: caller, at: now) ? count + 1 : count
        }
        let scope = self.configuration.scope == "user" ? "user" : "org"
        return .json(
            200,
            .object([
                "scope": .string(scope), "limit": .int(self.limit), "active": .int(active),
                "available": .int(self.limit - active),
            ])
        )
    }

    /// Tokens the sessions have consumed by `now` at `tokensPerSecond`, each from its start to its end (or `now`),
    /// counted from the opening of the current window: a new month starts from `tokenUsed` again.
    func consumedTokens(at now: Date) -> Int {
        let rate = self.configuration.tokensPerSecond
        guard rate > 0 else { return 0 }
        // Whole milliseconds first, so that runs of exact seconds give exact figures despite Date's rounding.
        let opening = self.configuration.tokenWindow.opening(at: now) ?? .distantPast
        let milliseconds = self.sessions.reduce(0) { total, session in
            guard let first = session.startedAt(at: now) else { return total }
            let started = max(first, opening)
            // The token route does not settle ends, so a run past its scheduled end stops counting there.
            var end = session.finishedAt ?? now
            if case .scheduled(let schedule) = session.stage, let endAt = schedule.endAt { end = min(end, endAt) }
            end = min(end, now)
            return total + max(Int((end.timeIntervalSince(started) * 1000).rounded()), 0)
        }
        return milliseconds * rate / 1000
    }

    /// GET /quota/tokens, nulls included.
    func tokens(at now: Date) -> APIReply {
        let window = self.configuration.tokenWindow.bounds(at: now)
        var remaining: Int?
        let used = self.tokenUsed.map { $0 + self.consumedTokens(at: now) }
        if !self.configuration.tokenRemainingNull, let limit = self.tokenLimit, let used {
            remaining = max(limit - used, 0)
        }
        return .json(
            200,
            .object([
                "limit": .optional(self.tokenLimit),
                "used": .optional(used),
                "remaining": .optional(remaining),
                "window_start": .string(window.start),
                "window_end": .optional(window.end),
            ])
        )
    }
}
