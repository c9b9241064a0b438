//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// The reads and the cancel the poller needs from the platform.
///
/// ``AGPClient`` is the real one; tests of the poller use a fake. Errors are ``AGPError``s.
public protocol PlatformClient: Sendable {
    /// Reads `GET /sessions/quota`.
    func sessionQuota() async throws -> QuotaReading
    /// Reads `GET /quota/tokens`.
    func tokenQuota() async throws -> TokenReading
    /// Lists every non-terminal session visible to `owner`, all pages.
    /// - Parameter owner: whose sessions to list.
    func nonTerminalSessions(owner: ListOwner) async throws -> [ListedSession]
    /// Reads `GET /sessions/{id}/status`; nil when the platform answers 404.
    /// - Parameter id: the session id.
    func sessionStatus(id: String) async throws -> SessionStatus?
    /// Cancels a session with `DELETE /sessions/{id}`: true on 204, false on 404.
    /// - Parameter id: the session id.
    func cancelSession(id: String) async throws -> Bool
}
