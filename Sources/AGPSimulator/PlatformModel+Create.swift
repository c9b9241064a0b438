//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// `POST /sessions`: validation, idempotency (§6) and the limit (§7).
extension PlatformModel {
    /// Top-level fields of SessionRequest (§4.1); strict mode rejects any other.
    static let knownCreateFields: Set<String> = [
        "agent", "messages", "max_steps", "max_time_s", "idle_timeout_s", "queue", "group_id", "parent_session_id",
        "overrides", "agent_artifact", "delete_after_min", "delete_screenshot_after_min",
    ]

    /// Checks the `Idempotency-Key` header: nil when absent, the trimmed key, or a 422.
    static func idempotencyKey(_ header: String?) -> Result<String?, ValidationFailure> {
        guard let header else { return .success(nil) }
        let key = header.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { return .failure(.init(reply: .detail(422, "Idempotency-Key must not be blank"))) }
        guard key.count <= 255 else {
            return .failure(.init(reply: .detail(422, "Idempotency-Key must be at most 255 characters")))
        }
        return .success(key)
    }

    /// Validates a create body; returns the parsed object or the 422 answer.
    func validateCreate(_ bytes: [UInt8]) -> Result<JSONValue, ValidationFailure> {
        guard let body = JSONValue.parse(bytes) else {
            let reply = APIReply.invalid(type: "json_invalid", loc: ["body", .int(0)], msg: "JSON decode error")
            return .failure(.init(reply: reply))
        }
        guard case .object(let fields) = body else {
            let reply = APIReply.invalid(
                type: "model_attributes_type",
                loc: ["body"],
                msg: "Input should be a valid dictionary or object to extract fields from",
                input: body
            )
            return .failure(.init(reply: reply))
        }
        func fail(_ type: String, _ field: String, _ msg: String) -> Result<JSONValue, ValidationFailure> {
            .failure(.init(reply: .invalid(type: type, loc: ["body", .string(field)], msg: msg, input: fields[field] ?? body)))
        }
        switch fields["agent"] {
        case .none: return fail("missing", "agent", "Field required")
        case .string, .object: break
        default: return fail("union_type", "agent", "Input should be a valid string or Agent object")
        }
        if let queue = fields["queue"], queue != .bool(true), queue != .bool(false) {
            return fail("bool_type", "queue", "Input should be a valid boolean")
        }
        if let idle = fields["idle_timeout_s"], !idle.isNull, (idle.intValue ?? 0) <= 0 {
            return fail("greater_than", "idle_timeout_s", "Input should be greater than 0")
        }
        if let steps = fields["max_steps"], !steps.isNull, (steps.intValue ?? 0) < 1 {
            return fail("greater_than_equal", "max_steps", "Input should be greater than or equal to 1")
        }
        for field in ["group_id", "parent_session_id", "agent_artifact"] {
            if let value = fields[field], !value.isNull, value.stringValue == nil {
                return fail("string_type", field, "Input should be a valid string")
            }
        }
        if let messages = fields["messages"] {
            switch messages {
            case .null, .string, .object, .array: break
            default: return fail("union_type", "messages", "Input should be a string, a message or a list of messages")
            }
        }
        if self.configuration.strictBodies, let extra = fields.keys.sorted().first(where: { !Self.knownCreateFields.contains($0) }) {
            return fail("extra_forbidden", extra, "Extra inputs are not permitted")
        }
        return .success(body)
    }

    /// Registers an idempotent create before it is processed. Returns nil to go on, or the answer: a replay,
    /// 409 while the first request is in flight, or 422 for a different body.
    mutating func beginCreate(key: String?, body: [UInt8], at now: Date) -> APIReply? {
        guard let key else { return nil }
        switch self.idempotency[key] {
        case .none:
            self.idempotency[key] = .inFlight
            return nil
        case .inFlight:
            return .detail(409, "Idempotency-Key request in flight; retry shortly", headers: ["Retry-After": "2"])
        case .done(let original, let id, let at):
            guard now < at.adding(Self.idempotencyWindow) else {
                self.idempotency[key] = .inFlight
                return nil
            }
            guard original == body else {
                return .detail(422, "Idempotency-Key was already used with a different request body")
            }
            self.advance(to: now)
            guard let session = self.session(id) else { return .sessionNotFound }
            return .json(201, self.sessionJSON(session, at: now))
        }
    }

    /// Releases an in-flight key whose request ended without an answer (the client went away).
    mutating func abandonCreate(key: String?) {
        guard let key, case .inFlight = self.idempotency[key] else { return }
        self.idempotency[key] = nil
    }

    /// Creates the session, or refuses it at the limit. `request` was validated by ``validateCreate(_:)``.
    mutating func completeCreate(key: String?, body: [UInt8], request: JSONValue, caller: String, at now: Date) -> APIReply {
        self.advance(to: now)
        let active = self.enforcedActive(for: caller, at: now)
        var queued = false
        if active >= self.limit {
            let wantsQueue = request["queue"] != .bool(false)
            guard wantsQueue && self.configuration.queueAtLimit else {
                self.abandonCreate(key: key)
                self.stats.createsRefused += 1
                self.stats.refused.append(RefusedCreate(at: now.iso8601, active: active, limit: self.limit, idempotencyKey: key))
                return .detail(429, "Concurrent trajectory limit reached (\(active)/\(self.limit))")
            }
            queued = true
        }
        let index = self.addSession(owner: caller, request: request, queued: queued, at: now)
        let session = self.sessions[index]
        if let key {
            self.idempotency[key] = .done(body: body, sessionID: session.id, at: now)
        }
        self.stats.createsAccepted += 1
        return .json(201, self.sessionJSON(session, at: now))
    }
}

/// A request that failed validation, carrying its 422 answer.
struct ValidationFailure: Error, Sendable {
    var reply: APIReply
}
