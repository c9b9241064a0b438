//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateClient

/// The answer of `bind`, `renew` and `release`: the daemon's JSON, or one line saying where the lease stands.
enum LeaseOutput {

    /// Prints a lease answer.
    /// - Parameters:
    ///   - data: the daemon's JSON body.
    ///   - json: print the JSON unchanged.
    ///   - client: the client that decodes it.
    static func print(_ data: Data, json: Bool, client: SlotgateClient) throws(ClientError) {
        if json {
            Terminal.write(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines) + "\n")
            return
        }
        Terminal.write(line(for: try client.decode(SlotgateClient.Lease.self, from: data)) + "\n")
    }

    /// One line: `lse_… bound to sess_… (holder x)`, `lse_… granted, expires in 59.9 s`, ….
    static func line(for lease: SlotgateClient.Lease) -> String {
        var text = "\(lease.id) \(lease.state)"
        switch lease.state {
        case .granted:
            if let expires = Format.relative(lease.expiresAt) { text += ", expires \(expires)" }
        case .bound:
            text += " to session \(lease.sessionID ?? "?")"
        case .draining:
            text += ": session \(lease.sessionID ?? "?") still runs; the slot frees when it ends"
        default:
            break
        }
        return text
    }
}
