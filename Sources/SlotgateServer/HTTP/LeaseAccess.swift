//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Logging
import SlotgateCore

#if canImport(Glibc)
import Glibc
#endif

/// Who may change a lease: the uid that took it, root, and members of `socket.admin_group`.
///
/// Taking a slot and reading the leases stay open to every process that can open the socket; binding, renewing,
/// releasing (which may cancel the lease's session on the platform) and naming a lease for a proxied create are
/// the lease's owner's. The uid is the kernel's (SO_PEERCRED), never a claim of the client.
public struct LeaseAccess: Sendable {
    /// The group whose members act on any lease (`socket.admin_group`), or nil for root alone.
    public var adminGroup: UInt32?
    /// The groups a uid belongs to, as the system's group database says (primary and supplementary).
    var groupsOf: @Sendable (_ uid: UInt32, _ gid: UInt32) -> [UInt32]

    /// Creates the policy.
    /// - Parameter adminGroup: the id of `socket.admin_group`, or nil.
    public init(adminGroup: UInt32? = nil) {
        self.init(adminGroup: adminGroup, groupsOf: Self.systemGroups)
    }

    init(adminGroup: UInt32?, groupsOf: @escaping @Sendable (_ uid: UInt32, _ gid: UInt32) -> [UInt32]) {
        self.adminGroup = adminGroup
        self.groupsOf = groupsOf
    }

    /// What may happen to someone's lease.
    public enum Action: String, Sendable {
        case bind, renew, release
        case cancelSession = "release with cancel_session"
        case create = "create a session with"
    }

    /// Whether `peer` acts on any lease: root, or a member of the admin group (by its primary group or the group
    /// database).
    /// - Parameter peer: the connected process.
    public func isAdmin(_ peer: PeerCredentials) -> Bool {
        if peer.uid == 0 { return true }
        guard let adminGroup, peer.uid != PeerCredentials.unreadable.uid else { return false }
        return peer.gid == adminGroup || groupsOf(peer.uid, peer.gid).contains(adminGroup)
    }

    /// Checks that `peer` may do `action` to `lease`; an admin acting on another uid's lease is logged at notice.
    /// - Parameters:
    ///   - action: what the peer asks.
    ///   - lease: the lease, as the gatekeeper holds it.
    ///   - peer: the connected process.
    ///   - logger: where an admin's action on another uid's lease is written.
    /// - Throws: 403 `forbidden` naming the owner, when the peer is neither the owner nor an admin.
    public func check(_ action: Action, on lease: Lease, by peer: PeerCredentials, logger: Logger) throws(APIError) {
        guard lease.uid != peer.uid else { return }
        guard isAdmin(peer) else {
            throw APIError.forbidden(
                "Lease \(lease.id) belongs to uid \(lease.uid)\(Self.userName(lease.uid).map { " (\($0))" } ?? ""); "
                    + "only its owner, root or a member of socket.admin_group may \(action.rawValue) it."
            )
        }
        logger.notice(
            "an administrator acts on another user's lease",
            metadata: [
                "action": "\(action.rawValue)", "lease": "\(lease.id)", "owner_uid": "\(lease.uid)", "peer_uid": "\(peer.uid)",
                "peer_pid": "\(peer.pid)",
            ]
        )
    }

    /// The groups of `uid` in the group database (getgrouplist), its primary group `gid` included.
    static func systemGroups(uid: UInt32, gid: UInt32) -> [UInt32] {
        guard let name = userName(uid) else { return [gid] }
        var count: Int32 = 64
        while true {
            var groups = [gid_t](repeating: 0, count: Int(count))
            let wanted = count
            if getgrouplist(name, gid, &groups, &count) >= 0 { return Array(groups.prefix(Int(count))) }
            // -1 with a larger count: the list did not fit; try once more with the size it needs.
            guard count > wanted, count < 65_536 else { return [gid] }
        }
    }

    /// The user name of `uid`, or nil when the password database has none.
    static func userName(_ uid: UInt32) -> String? {
        UserNames.name(of: uid)
    }
}
