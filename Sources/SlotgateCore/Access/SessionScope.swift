//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Whose sessions a local user may reach through the proxy (`proxy.session_scope`).
public enum SessionScope: String, Sendable, Hashable, CaseIterable {
    /// Every session of the organization, as the platform's key allows (the default).
    case organization
    /// The sessions the user's own uid created through this daemon; root and `socket.admin_group` reach all.
    case uid
}

/// What a forwarded platform path names, for ``SessionScope/uid``.
public enum SessionTarget: Sendable, Hashable {
    /// `/api/v2/sessions`: the organization's session list (and the create).
    case list
    /// `/api/v2/sessions/{id}` or a route under it.
    case session(String)
    /// Any other route (`/api/v2/sessions/quota`, `/api/v2/quota/**`, …): no session of anyone's.
    case none

    /// Routes under `/api/v2/sessions/` whose second segment is not a session id.
    static let collectionRoutes: Set<String> = ["quota"]

    /// Classifies a checked platform path.
    /// - Parameter path: the path, after ``PlatformPath`` checked it.
    public init(_ path: PlatformPath) {
        let segments = path.segments
        guard segments.first == "sessions" else {
            self = .none
            return
        }
        if segments.count == 1 {
            self = .list
        } else if Self.collectionRoutes.contains(segments[1]) {
            self = .none
        } else {
            self = .session(segments[1])
        }
    }
}
