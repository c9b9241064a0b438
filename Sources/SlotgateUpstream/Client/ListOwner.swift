//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// The `owner` filter of `GET /sessions` (agp-api.md §8): whose sessions a listing shows.
public struct ListOwner: Sendable, Hashable, CustomStringConvertible {
    private enum Base: String, Sendable, Hashable {
        case me
        case meInOrganization = "me-in-organization"
        case organization
        case meOrOrganization = "me-or-organization"
    }

    private let base: Base

    private init(_ base: Base) {
        self.base = base
    }

    /// The key's own sessions.
    public static let me = ListOwner(.me)
    /// The key's own sessions within its organization (the platform's default).
    public static let meInOrganization = ListOwner(.meInOrganization)
    /// Every session of the organization.
    public static let organization = ListOwner(.organization)
    /// The key's sessions or the organization's.
    public static let meOrOrganization = ListOwner(.meOrOrganization)

    /// The owner filter that matches a quota scope (U8): `me` for user scope, `organization` for org scope.
    /// - Parameter scope: the quota's scope.
    public static func matching(_ scope: QuotaScope) -> ListOwner {
        switch scope {
        case .user: .me
        case .org: .organization
        }
    }

    /// The query value.
    public var rawValue: String { base.rawValue }

    public var description: String { base.rawValue }
}
