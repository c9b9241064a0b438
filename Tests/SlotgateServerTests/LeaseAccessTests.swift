//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import Logging
import SlotgateCore
import Testing

@testable import SlotgateServer

/// Who may change a lease: its uid, root, and members of `socket.admin_group` (by primary group or the group
/// database); nobody else, and never a peer whose credentials could not be read.
@Suite struct LeaseAccessTests {
    static let logger = Logger(label: "test")

    static func lease(uid: UInt32) throws -> Lease {
        try LeaseJSONTests.lease(holder: "h", state: .granted).owned(by: uid)
    }

    /// Groups as a fake database: uid 1002 is in group 500 (a supplementary group), nobody else is in anything.
    static func access(adminGroup: UInt32?) -> LeaseAccess {
        LeaseAccess(adminGroup: adminGroup) { uid, gid in uid == 1002 ? [gid, 500] : [gid] }
    }

    @Test("the owner may do anything to its lease; another uid gets 403 forbidden naming the owner")
    func ownerAndStranger() throws {
        let lease = try Self.lease(uid: 1000)
        let access = Self.access(adminGroup: nil)
        for action in [LeaseAccess.Action.bind, .renew, .release, .cancelSession, .create] {
            try access.check(action, on: lease, by: PeerCredentials(uid: 1000, gid: 100, pid: 7), logger: Self.logger)
            let error = #expect(throws: APIError.self) {
                try access.check(action, on: lease, by: PeerCredentials(uid: 1001, gid: 100, pid: 8), logger: Self.logger)
            }
            #expect(error?.status == .forbidden)
            #expect(error?.code == "forbidden")
            #expect(error?.message.contains("belongs to uid 1000") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("socket.admin_group") == true)
        }
    }

    @Test("root acts on any lease; a member of the admin group too, by primary or supplementary group")
    func admins() throws {
        let lease = try Self.lease(uid: 1000)
        let access = Self.access(adminGroup: 500)
        try access.check(.release, on: lease, by: PeerCredentials(uid: 0, gid: 0, pid: 1), logger: Self.logger)
        try access.check(.cancelSession, on: lease, by: PeerCredentials(uid: 1003, gid: 500, pid: 1), logger: Self.logger)
        try access.check(.bind, on: lease, by: PeerCredentials(uid: 1002, gid: 100, pid: 1), logger: Self.logger)
        #expect(throws: APIError.self) {
            try access.check(.release, on: lease, by: PeerCredentials(uid: 1001, gid: 100, pid: 1), logger: Self.logger)
        }
        // Without an admin group, group 500 means nothing.
        #expect(throws: APIError.self) {
            try Self.access(adminGroup: nil).check(.release, on: lease, by: PeerCredentials(uid: 1002, gid: 500, pid: 1), logger: Self.logger)
        }
    }

    @Test("a peer whose credentials could not be read is nobody's admin, whatever the admin group")
    func unreadablePeer() throws {
        let lease = try Self.lease(uid: 1000)
        let access = LeaseAccess(adminGroup: UInt32.max) { _, _ in [UInt32.max] }
        #expect(!access.isAdmin(.unreadable))
        #expect(throws: APIError.self) { try access.check(.release, on: lease, by: .unreadable, logger: Self.logger) }
    }

    @Test("the system's group database: root's groups hold its primary group, an unknown uid has only its own")
    func systemGroups() {
        #expect(LeaseAccess.systemGroups(uid: 0, gid: 0).contains(0))
        #expect(LeaseAccess.systemGroups(uid: 4_000_000_000, gid: 4_000_000_001) == [4_000_000_001])
        #expect(LeaseAccess.userName(0) == "root")
        #expect(LeaseAccess.userName(4_000_000_000) == nil)
    }
}

extension Lease {
    fileprivate func owned(by uid: UInt32) -> Lease {
        var lease = self
        lease.uid = uid
        return lease
    }
}
