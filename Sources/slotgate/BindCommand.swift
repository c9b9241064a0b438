//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SlotgateClient

/// `slotgate bind LEASE SESSION`.
struct BindCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Attach a platform session to a granted lease; the slot then frees when the session ends.",
        discussion: """
            Examples:
              slotgate bind "$lease" "$session_id"
              slotgate bind --json "$lease" "$session_id"
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The lease id, as acquire printed it (lse_...).")
    var lease: String

    @Argument(help: "The platform session id.")
    var session: String

    @Flag(name: .long, help: "Print the lease as the daemon's JSON.")
    var json = false

    func run() async throws {
        try await connection.withClient { client in
            let data = try await client.json(.bind(lease, session: session))
            try LeaseOutput.print(data, json: json, client: client)
        }
    }
}
