//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOCore
import SlotgateCore
import SlotgateServer
import Testing

/// `LeaseJSON.text`, the lease written without `JSONEncoder`, must be the very object `JSONEncoder` makes of the
/// same lease, whatever its strings hold.
@Suite struct LeaseJSONTests {
    static func lease(holder: String, host: String = "host-1", session: String? = nil, state: LeaseState) throws -> Lease {
        var random = SplitMix64(seed: 42)
        let requested = Timestamp(millisecondsSinceEpoch: 1_795_000_000_123)
        var lease = Lease(
            id: LeaseID(time: requested, random: &random),
            holder: holder,
            uid: 1000,
            gid: 100,
            pid: 4242,
            priority: -3,
            claimTTL: .seconds(60),
            requestedAt: requested,
            host: host
        )
        guard state != .waiting else { return lease }
        try lease.grant(at: requested.advanced(by: .milliseconds(3360)))
        if let session { _ = try lease.bind(to: session, at: requested.advanced(by: .seconds(5))) }
        if state == .released { _ = try lease.release(at: requested.advanced(by: .seconds(9))) }
        return lease
    }

    static func object(_ bytes: some Sequence<UInt8>) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    @Test(arguments: [
        "nightly-crawl", "", "quote \" backslash \\ slash /", "tab\tnewline\ncr\rbell\u{7}nul\u{0}esc\u{1B}del\u{7F}",
        "unicode é ü 漢字 🚀", String(repeating: "x", count: 128),
    ])
    func sameObjectAsJSONEncoder(holder: String) throws {
        for (session, state) in [(nil, LeaseState.waiting), (nil, .granted), ("ses_\"1\"", .bound), ("ses_2", .released)] {
            let lease = try Self.lease(holder: holder, host: "h\u{2028}ost", session: session, state: state)
            let text = LeaseJSON(lease).text
            #expect(text.readableBytesView.last == 0x0A, "ends with a newline")
            let written = try Self.object(text.readableBytesView)
            let encoded = try Self.object(try JSONEncoder().encode(LeaseJSON(lease)))
            #expect(written == encoded, "holder \(holder.debugDescription), state \(state)")
            #expect(written.count == 15)
        }
    }

    /// `eta_s` is a number of seconds to a tenth while a lease waits with an estimate, null otherwise.
    @Test(arguments: [nil, .zero, .milliseconds(49), .milliseconds(12_345), .seconds(86_400 * 3)] as [Duration?])
    func etaIsSecondsToATenth(eta: Duration?) throws {
        let lease = try Self.lease(holder: "waiter", state: .waiting)
        let text = LeaseJSON(lease, eta: eta).text
        let written = try Self.object(text.readableBytesView)
        let encoded = try Self.object(try JSONEncoder().encode(LeaseJSON(lease, eta: eta)))
        #expect(written == encoded)
        if let eta {
            let seconds = try #require(written["eta_s"] as? Double)
            #expect(abs(seconds - eta.seconds) < 0.1)
        } else {
            #expect(written["eta_s"] is NSNull)
        }
    }
}
