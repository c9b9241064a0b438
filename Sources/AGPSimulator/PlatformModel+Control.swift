//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// Faults and the control API: the things a test does to the platform behind the client's back.
extension PlatformModel {
    /// Counts a request and consumes the faults that apply to it.
    mutating func admit(route: String) -> Admission {
        self.stats.requests[route, default: 0] += 1
        if let routes = self.faults.routes, !routes.contains(route) {
            return Admission(reply: nil, delay: .zero)
        }
        let delay = Duration.milliseconds(max(self.faults.slowMilliseconds, 0))
        let retryAfter: [String: String] =
            self.faults.retryAfterSeconds > 0 ? ["Retry-After": String(self.faults.retryAfterSeconds)] : [:]
        if self.faults.serverErrors > 0 {
            self.faults.serverErrors -= 1
            self.serverErrorsServed += 1
            let reply: APIReply =
                self.serverErrorsServed % 2 == 1
                ? .detail(500, "Internal Server Error")
                : .message(502, "Bad Gateway")
            return Admission(reply: reply, delay: delay)
        }
        if self.faults.unavailable > 0 {
            self.faults.unavailable -= 1
            return Admission(reply: .detail(503, "Service temporarily unavailable", headers: retryAfter), delay: delay)
        }
        if route == "list", self.faults.listRefused {
            return Admission(reply: .detail(403, "Not allowed to list the organization's sessions"), delay: delay)
        }
        if route == "create", self.faults.tooManyRequests > 0 {
            self.faults.tooManyRequests -= 1
            self.stats.injected429 += 1
            let headers = self.faults.tooManyRetryAfter ? retryAfter : [:]
            return Admission(reply: .detail(429, "Too many requests", headers: headers), delay: delay)
        }
        return Admission(reply: nil, delay: delay)
    }

    /// Changes the limit at run time; raising it lets queued sessions start.
    mutating func setLimit(_ limit: Int, at now: Date) {
        self.advance(to: now)
        self.limit = max(limit, 0)
        self.promoteQueued(at: now)
    }

    /// Creates a session owned by another user of the organization, outside the limit, as a session started
    /// from another host or tool would be. `runDuration` replaces the drawn run length when given.
    mutating func createExternal(runDuration: Duration?, at now: Date) -> String {
        self.advance(to: now)
        let request: JSONValue = .object(["agent": "h/web-surfer-flash", "messages": "started elsewhere"])
        let index = self.addSession(owner: Self.externalOwner, request: request, queued: false, fixedRun: runDuration, at: now)
        self.stats.externalCreated += 1
        return self.sessions[index].id
    }

    /// Forces a status: a terminal one ends the session now; a non-terminal one holds it there (reviving it
    /// if it had ended). Returns false for an unknown id.
    mutating func finish(_ id: String, status: String, at now: Date) -> Bool {
        self.advance(to: now)
        guard let index = self.index(of: id) else { return false }
        let wasNonTerminal = self.sessions[index].isNonTerminal(at: now)
        if SimulatedSession.terminalStatuses.contains(status) {
            if wasNonTerminal {
                self.end(index, status: status, at: now)
                self.promoteQueued(at: now)
            } else {
                self.sessions[index].stage = .ended(status: status)
            }
            return true
        }
        var session = self.sessions[index]
        session.firstStartedAt = session.startedAt(at: now)
        session.answeredAt = status == "idle" ? now : session.answerTime(at: now)
        session.finishedAt = nil
        session.stage = status == "queued" ? .queued : .held(status: status, remaining: nil)
        self.sessions[index] = session
        if !wasNonTerminal {
            self.notePeak(at: now)
        }
        return true
    }

    /// Replaces the token figures.
    mutating func setTokens(limit: Int?, used: Int?) {
        self.tokenLimit = limit
        self.tokenUsed = used
    }

    /// The counters, with `nonTerminal` and `limit` as of `now`.
    mutating func snapshot(at now: Date) -> SimulatorStats {
        self.advance(to: now)
        var stats = self.stats
        stats.nonTerminal = self.nonTerminalCount(at: now)
        stats.limit = self.limit
        return stats
    }
}
