//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// The JSON shapes of agp-api.md §4, with every documented key present.
extension PlatformModel {
    /// The answer text of every simulated run.
    static let simulatedAnswer = "Simulated answer"

    /// Session (§4.2).
    func sessionJSON(_ session: SimulatedSession, at now: Date) -> JSONValue {
        .object([
            "id": .string(session.id),
            "request": session.request,
            "status": self.statusJSON(session, at: now),
            "agent_view_url": .string(Self.viewURL(session)),
            "latest_answer": session.answerTime(at: now) == nil ? .null : .string(Self.simulatedAnswer),
            "created_at": .string(session.createdAt.iso8601),
            "started_at": .optional(session.startedAt(at: now)?.iso8601),
            "finished_at": .optional(session.finishedAt?.iso8601),
        ])
    }

    /// SessionStatus (§4.3).
    func statusJSON(_ session: SimulatedSession, at now: Date) -> JSONValue {
        let status = session.status(at: now)
        let (error, code) = Self.error(for: status)
        let steps = self.steps(session, at: now)
        let usage: [JSONValue] =
            steps == 0
            ? []
            : [
                .object([
                    "name": "sim-model", "input_tokens": .int(steps * 1000), "output_tokens": .int(steps * 100),
                    "reasoning_tokens": .int(0),
                ])
            ]
        return .object([
            "status": .string(status),
            "error": .optional(error),
            "error_code": .optional(code),
            "outcome": status == "completed" ? "success" : .null,
            "steps": .int(steps),
            "usage_per_model": .array(usage),
            "subagent_session_ids": .array([]),
        ])
    }

    /// SessionSummary (§4.4).
    func summaryJSON(_ session: SimulatedSession, at now: Date) -> JSONValue {
        .object([
            "id": .string(session.id),
            "agent": .optional(session.agentName),
            "status": .string(session.status(at: now)),
            "agent_view_url": .string(Self.viewURL(session)),
            "first_message": session.firstMessage,
            "created_at": .string(session.createdAt.iso8601),
            "started_at": .optional(session.startedAt(at: now)?.iso8601),
            "finished_at": .optional(session.finishedAt?.iso8601),
            "anonymized_at": .null,
        ])
    }

    /// The session's events so far: its first message, its answer and its end.
    func events(_ session: SimulatedSession, at now: Date) -> [JSONValue] {
        var events: [JSONValue] = []
        let message = session.firstMessage
        if !message.isNull {
            events.append(.object(["type": "user_message", "data": message, "timestamp": .string(session.createdAt.iso8601)]))
        }
        if let answered = session.answerTime(at: now) {
            let data: JSONValue = .object(["answer": .string(Self.simulatedAnswer)])
            events.append(.object(["type": "answer", "data": data, "timestamp": .string(answered.iso8601)]))
        }
        if let finished = session.finishedAt {
            let data: JSONValue = .object(["status": .string(session.status(at: now))])
            events.append(.object(["type": "status", "data": data, "timestamp": .string(finished.iso8601)]))
        }
        return events
    }

    func steps(_ session: SimulatedSession, at now: Date) -> Int {
        guard session.startedAt(at: now) != nil else { return 0 }
        return session.answerTime(at: now) == nil ? 1 : 3
    }

    static func viewURL(_ session: SimulatedSession) -> String {
        "https://agp-sim.invalid/sessions/\(session.id)"
    }

    static func error(for status: String) -> (String?, String?) {
        switch status {
        case "failed": ("Simulated failure", "internal")
        case "timed_out": ("Session exceeded its maximum time", "timeout")
        default: (nil, nil)
        }
    }
}
