//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The per-session routes: read, status, cancel, pause, resume, messages, force_answer, changes, events.
extension PlatformModel {
    mutating func getSession(_ id: String, at now: Date) -> APIReply {
        self.advance(to: now)
        guard let session = self.session(id) else { return .sessionNotFound }
        return .json(200, self.sessionJSON(session, at: now))
    }

    mutating func getStatus(_ id: String, at now: Date) -> APIReply {
        self.advance(to: now)
        guard let session = self.session(id) else { return .sessionNotFound }
        return .json(200, self.statusJSON(session, at: now))
    }

    /// DELETE: a non-terminal session becomes `interrupted` and frees its slot at once; a terminal one is left
    /// alone (U6). Both answer 204.
    mutating func cancel(_ id: String, at now: Date) -> APIReply {
        self.advance(to: now)
        guard let index = self.index(of: id) else { return .sessionNotFound }
        if self.sessions[index].isNonTerminal(at: now) {
            self.end(index, status: "interrupted", at: now)
            self.promoteQueued(at: now)
        }
        return .empty(204)
    }

    /// Pause keeps the slot and remembers how much of the run is left.
    mutating func pause(_ id: String, at now: Date) -> APIReply {
        self.advance(to: now)
        guard let index = self.index(of: id) else { return .sessionNotFound }
        var session = self.sessions[index]
        switch session.stage {
        case .scheduled(let schedule):
            var remaining: Duration?
            if let answerAt = schedule.answerAt, now < answerAt {
                remaining = .interval(answerAt.timeIntervalSince(max(now, schedule.runningAt)))
            }
            session.firstStartedAt = session.startedAt(at: now)
            session.answeredAt = session.answerTime(at: now)
            session.stage = .held(status: "paused", remaining: remaining)
        case .held(_, let remaining):
            session.stage = .held(status: "paused", remaining: remaining)
        case .queued, .ended:
            break
        }
        self.sessions[index] = session
        return .empty(202)
    }

    /// Resume: a paused session runs again for the rest of its run; anything else is a no-op.
    mutating func resume(_ id: String, at now: Date) -> APIReply {
        self.advance(to: now)
        guard let index = self.index(of: id) else { return .sessionNotFound }
        if case .held("paused", let remaining) = self.sessions[index].stage {
            self.run(index, from: now, fixedRun: remaining)
        }
        return .empty(202)
    }

    /// A message wakes an idle session, resumes a paused one and restarts a terminal one, which then counts
    /// against the limit again (429 when it is reached).
    mutating func postMessage(_ id: String, body: [UInt8], at now: Date) -> APIReply {
        self.advance(to: now)
        guard let index = self.index(of: id) else { return .sessionNotFound }
        if let failure = Self.validateMessage(body) { return failure }
        let session = self.sessions[index]
        let status = session.status(at: now)
        switch session.stage {
        case .ended:
            let active = self.enforcedActive(for: session.owner, at: now)
            guard active < self.limit else {
                self.stats.restartsRefused += 1
                return .detail(429, "Concurrent trajectory limit reached (\(active)/\(self.limit))")
            }
            self.sessions[index].finishedAt = nil
            self.sessions[index].stage = .scheduled(self.makeSchedule(pendingFrom: now, idleTimeout: session.idleTimeout))
            self.notePeak(at: now)
        case .held("paused", let remaining):
            self.run(index, from: now, fixedRun: remaining)
        case .held:
            self.run(index, from: now)
        case .scheduled where status == "idle":
            self.run(index, from: now)
        case .scheduled, .queued:
            break
        }
        return .empty(202)
    }

    /// force_answer: a running session answers now.
    mutating func forceAnswer(_ id: String, at now: Date) -> APIReply {
        self.advance(to: now)
        guard let index = self.index(of: id) else { return .sessionNotFound }
        let session = self.sessions[index]
        if case .scheduled(var schedule) = session.stage, session.status(at: now) == "running" {
            schedule.answerAt = now
            schedule.endAt = session.idleTimeout.map { now.adding($0) } ?? now
            self.sessions[index].stage = .scheduled(schedule)
            self.advance(to: now)
        }
        return .empty(202)
    }

    /// SessionChanges (§4.7), or 204 with `ETag: <from_index>` when there is nothing new.
    mutating func changes(_ id: String, query: [(String, String)], at now: Date) -> APIReply {
        self.advance(to: now)
        guard let session = self.session(id) else { return .sessionNotFound }
        var parser = QueryParser(query)
        guard let fromIndex = parser.int("from_index", default: 0, range: 0...Int.max),
            let limit = parser.optionalInt("limit", range: 0...Int.max),
            let includeEvents = parser.bool("include_events", default: true),
            parser.int("wait_for_seconds", default: 0, range: 0...60) != nil
        else { return parser.failure ?? .detail(422, "Invalid query") }
        let events = self.events(session, at: now)
        guard fromIndex < events.count else { return .empty(204, headers: ["ETag": String(fromIndex)]) }
        var fresh = Array(events[fromIndex...])
        if let limit { fresh = Array(fresh.prefix(limit)) }
        let status = session.status(at: now)
        let (error, code) = Self.error(for: status)
        let steps = self.steps(session, at: now)
        return .json(
            200,
            .object([
                "status": .string(status),
                "started_at": .optional(session.startedAt(at: now)?.iso8601),
                "finished_at": .optional(session.finishedAt?.iso8601),
                "error": .optional(error),
                "error_code": .optional(code),
                "new_events": .array(includeEvents ? fresh : []),
                "answer": session.answerTime(at: now) == nil ? .null : .string(Self.simulatedAnswer),
                "outcome": status == "completed" ? "success" : .null,
                "metrics": .object([
                    "steps": .int(steps), "cost_per_model": .array([]), "input_cost": .double(0),
                    "output_cost": .double(0), "reasoning_cost": .double(0), "total_cost": .double(0),
                ]),
            ])
        )
    }

    /// Page[SessionEvent]: size 1...200, default 50.
    mutating func eventPage(_ id: String, query: [(String, String)], at now: Date) -> APIReply {
        self.advance(to: now)
        guard let session = self.session(id) else { return .sessionNotFound }
        var parser = QueryParser(query)
        guard let page = parser.int("page", default: 1, range: 1...Int.max),
            let size = parser.int("size", default: 50, range: 1...200)
        else { return parser.failure ?? .detail(422, "Invalid query") }
        let events = self.events(session, at: now)
        return .json(200, Self.page(events, page: page, size: size))
    }

    /// `{"items", "total", "page"}` for one page of `all`.
    static func page(_ all: [JSONValue], page: Int, size: Int) -> JSONValue {
        let (start, overflow) = (page - 1).multipliedReportingOverflow(by: size)
        let items = overflow || start >= all.count ? [] : Array(all[start..<min(start + size, all.count)])
        return .object(["items": .array(items), "total": .int(all.count), "page": .int(page)])
    }

    /// Puts session `index` in `running` from `now`.
    mutating func run(_ index: Int, from now: Date, fixedRun: Duration? = nil) {
        var session = self.sessions[index]
        session.firstStartedAt = session.startedAt(at: now) ?? now
        session.stage = .scheduled(self.makeSchedule(runningFrom: now, idleTimeout: session.idleTimeout, fixedRun: fixedRun))
        self.sessions[index] = session
    }

    /// A UserMessageEvent or a batch of at least one; nil when valid, the 422 otherwise.
    static func validateMessage(_ bytes: [UInt8]) -> APIReply? {
        guard let body = JSONValue.parse(bytes) else {
            return .invalid(type: "json_invalid", loc: ["body", .int(0)], msg: "JSON decode error")
        }
        func isUserMessage(_ value: JSONValue) -> Bool {
            value["type"] == "user_message" && value["message"]?.stringValue != nil
        }
        if isUserMessage(body) { return nil }
        if body["type"] == "batch", case .array(let items) = body["messages"], !items.isEmpty, items.allSatisfy(isUserMessage) {
            return nil
        }
        return .invalid(type: "union_tag_invalid", loc: ["body"], msg: "Input should be a user_message or a batch", input: body)
    }
}
