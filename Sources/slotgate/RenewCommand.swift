//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SlotgateClient

/// `slotgate renew LEASE`.
struct RenewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Push an unbound lease's expiry out by its claim TTL (a bound lease needs no renewal).",
        discussion: """
            Examples:
              slotgate renew "$lease"
              while sleep 20; do slotgate renew "$lease" >/dev/null || break; done
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The lease id, as acquire printed it (lse_...).")
    var lease: String

    @Flag(name: .long, help: "Print the lease as the daemon's JSON.")
    var json = false

    func run() async throws {
        try await connection.withClient { client in
            let data = try await client.json(.renew(lease))
            try LeaseOutput.print(data, json: json, client: client)
        }
    }
}
