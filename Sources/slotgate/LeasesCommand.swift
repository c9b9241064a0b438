//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import SlotgateClient

/// `slotgate leases`: live leases and who waits; `--all` adds the ended ones.
struct LeasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leases",
        abstract: "List the live leases and the requests waiting for a slot; --all adds the ended leases.",
        discussion: """
            Examples:
              slotgate leases
              slotgate leases --all --json
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print the daemon's JSON answer unchanged (it keeps leases that ended in the last minutes).")
    var json = false

    @Flag(
        name: .long,
        help: "Also list the ended leases (released, expired) still in the daemon's ledger (leases.retention_h), to reconstruct what happened."
    )
    var all = false

    func run() async throws {
        try await connection.withClient { client in
            if json {
                let data = try await client.json(all ? .allLeases : .leases)
                Terminal.write(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines) + "\n")
            } else {
                var listing = try await client.leases(all: all)
                if !all { listing.leases.removeAll { $0.state == .released || $0.state == .expired } }
                Terminal.write(Self.render(listing) + "\n")
            }
        }
    }

    static func render(_ listing: SlotgateClient.Listing, now: Date = Date()) -> String {
        var out: [String] = []
        if listing.leases.isEmpty {
            out.append("no leases")
        } else {
            // A fleet (shared mode) lists every host's leases: say which host granted each.
            let fleet = Set(listing.leases.compactMap(\.host)).count > 1
            var table = TextTable(
                header: ["LEASE", "STATE", "HOLDER", "PRIO", "UID", "PID", "SESSION", "WAITED", "EXPIRES / ENDED"] + (fleet ? ["HOST"] : [])
            )
            table.rightAligned = [3, 4, 5, 7]
            for lease in listing.leases {
                let when: String
                if let ended = lease.releasedAt {
                    when = Format.relative(ended, now: now) ?? ended
                } else if let expires = lease.expiresAt {
                    when = Format.relative(expires, now: now) ?? expires
                } else {
                    when = "-"
                }
                table.rows.append(
                    [
                        lease.id,
                        lease.state.rawValue,
                        Format.holder(lease.holder, uid: lease.uid),
                        String(lease.priority),
                        lease.uid.map { String($0) } ?? "-",
                        lease.pid.map { String($0) } ?? "-",
                        lease.sessionID ?? "-",
                        lease.waitedMs.map(Format.milliseconds) ?? "-",
                        when,
                    ] + (fleet ? [lease.host ?? "-"] : [])
                )
            }
            out.append(table.render())
        }
        out.append("")
        if listing.waiting.isEmpty {
            out.append("nobody waiting")
        } else {
            var table = TextTable(header: ["POS", "HOLDER", "PRIO", "UID", "PID", "WAITING"])
            table.rightAligned = [0, 2, 3, 4, 5]
            for waiter in listing.waiting {
                table.rows.append([
                    String(waiter.position),
                    Format.holder(waiter.holder, uid: waiter.uid),
                    String(waiter.priority),
                    waiter.uid.map { String($0) } ?? "-",
                    waiter.pid.map { String($0) } ?? "-",
                    Format.milliseconds(waiter.waitingMs),
                ])
            }
            out.append(table.render())
        }
        return out.joined(separator: "\n")
    }
}
