//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// One session as the simulated platform keeps it. Its status is a function of time: the model stores a
/// schedule and reads the status at the moment of each request.
struct SimulatedSession: Sendable {
    /// The part of the lifecycle the session is in.
    enum Stage: Sendable, Equatable {
        /// Accepted at the limit; waits, unprovisioned, for a slot.
        case queued
        /// Follows ``Schedule``: pending, running, maybe idle, then its end status.
        case scheduled(Schedule)
        /// Stays in `status` until an API call or the control API moves it; `remaining` is the run left to do.
        case held(status: String, remaining: Duration?)
        /// Terminal.
        case ended(status: String)
    }

    /// The timeline of a scheduled session.
    struct Schedule: Sendable, Equatable {
        /// `pending` before this instant, `running` from it.
        var runningAt: Date
        /// The first answer, after which the session is `idle` (interactive) or ends; nil = runs until told.
        var answerAt: Date?
        /// The end; equal to `answerAt` for one-shot runs, later by `idle_timeout_s` for interactive ones.
        var endAt: Date?
        /// The terminal status it ends in.
        var endStatus: String
    }

    /// The lower-case UUID.
    let id: String
    /// Creation order, for stable sorting and oldest-first promotion.
    let sequence: Int
    /// The user the session belongs to (the API key, or the external user).
    let owner: String
    /// The create body as sent.
    let request: JSONValue
    /// `idle_timeout_s` from the request; non-nil makes the session interactive.
    let idleTimeout: Duration?
    /// When it was created.
    let createdAt: Date
    /// Where it is in its lifecycle.
    var stage: Stage
    /// When it first ran, once it left the schedule that started it.
    var firstStartedAt: Date?
    /// When it last became terminal.
    var finishedAt: Date?
    /// When a final answer was last produced.
    var answeredAt: Date?

    /// The statuses that end a session and free its slot.
    static let terminalStatuses: Set<String> = ["completed", "failed", "timed_out", "interrupted"]

    /// Every status the platform documents (§3).
    static let knownStatuses: Set<String> = [
        "queued", "pending", "running", "paused", "idle", "awaiting_tool_results",
        "completed", "failed", "timed_out", "interrupted",
    ]

    /// The status at `now`. The model settles ends that are due before it reads statuses, so a scheduled
    /// session never reports its end status here before `finishedAt` is set.
    func status(at now: Date) -> String {
        switch self.stage {
        case .queued:
            return "queued"
        case .scheduled(let schedule):
            if now < schedule.runningAt { return "pending" }
            guard let answerAt = schedule.answerAt, now >= answerAt else { return "running" }
            guard let endAt = schedule.endAt, now >= endAt else { return "idle" }
            return schedule.endStatus
        case .held(let status, _):
            return status
        case .ended(let status):
            return status
        }
    }

    /// Whether the session holds (or waits for) a slot at `now`.
    func isNonTerminal(at now: Date) -> Bool {
        !Self.terminalStatuses.contains(self.status(at: now))
    }

    /// `started_at` at `now`.
    func startedAt(at now: Date) -> Date? {
        if let first = self.firstStartedAt { return first }
        if case .scheduled(let schedule) = self.stage, now >= schedule.runningAt { return schedule.runningAt }
        return nil
    }

    /// The time a final answer exists at `now`, if any.
    func answerTime(at now: Date) -> Date? {
        if case .scheduled(let schedule) = self.stage, let answerAt = schedule.answerAt, now >= answerAt {
            return answerAt
        }
        return self.answeredAt
    }

    /// The catalog id, or the inline agent's name.
    var agentName: String? {
        switch self.request["agent"] {
        case .string(let id): return id
        case .object(let agent): return agent["name"]?.stringValue
        default: return nil
        }
    }

    /// The first user message of the request, normalised to a UserMessageEvent.
    var firstMessage: JSONValue {
        func event(_ value: JSONValue) -> JSONValue {
            switch value {
            case .string(let text):
                return .object([
                    "type": "user_message", "message": .string(text), "images": .array([]), "caller_id": "user",
                ])
            case .object(var members):
                members["type"] = members["type"] ?? "user_message"
                members["images"] = members["images"] ?? .array([])
                members["caller_id"] = members["caller_id"] ?? "user"
                return .object(members)
            default:
                return .null
            }
        }
        switch self.request["messages"] {
        case .array(let items): return items.first.map(event) ?? .null
        case .some(let value): return event(value)
        case .none: return .null
        }
    }

    /// An optional string field of the request.
    func requestString(_ key: String) -> String? {
        self.request[key]?.stringValue
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    init(stringLiteral value: String) {
        self = .string(value)
    }
}
