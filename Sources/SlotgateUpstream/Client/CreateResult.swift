//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTP1
import SlotgateCore

/// The platform's final answer to `POST /sessions`, after the retries the create allows.
public struct CreateResult: Sendable {
    /// The last answer, unchanged: 201 with the session, or the platform's error (429 included; it is never retried).
    public var response: AGPResponse
    /// The session id, when the answer is 201 and carries one.
    public var sessionID: String?
    /// The session's status, when the answer is 201 and carries one (`pending`, or `queued` when the platform queues).
    public var sessionStatus: SessionStatus?
    /// How many attempts were made (all with the same `Idempotency-Key`).
    public var attempts: Int

    /// Creates a result.
    /// - Parameters:
    ///   - response: the last answer.
    ///   - sessionID: the session id from a 201.
    ///   - sessionStatus: the session status from a 201.
    ///   - attempts: how many attempts were made.
    public init(response: AGPResponse, sessionID: String?, sessionStatus: SessionStatus?, attempts: Int) {
        self.response = response
        self.sessionID = sessionID
        self.sessionStatus = sessionStatus
        self.attempts = attempts
    }

    /// The HTTP status of the last answer.
    public var status: Int { response.status }

    /// Whether the platform created the session (or replayed its creation): 2xx with an id.
    public var isCreated: Bool { (200...299).contains(response.status) && sessionID != nil }

    /// Whether the answer leaves it open whether a session exists: a 5xx, or a 409 whose first request
    /// was still in flight at the deadline. A retry with the same `Idempotency-Key`, or the session list, settles it.
    public var isAmbiguous: Bool {
        (500...599).contains(response.status) || response.status == 409 || response.status == 408
    }
}
