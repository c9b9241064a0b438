//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SlotgateClient

/// `slotgate release LEASE [--cancel-session]`.
struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Release a lease. A bound lease whose session still runs drains: its slot frees when the session ends.",
        discussion: """
            Examples:
              slotgate release "$lease"
              slotgate release --cancel-session "$lease"
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The lease id, as acquire printed it (lse_...).")
    var lease: String

    @Flag(name: .customLong("cancel-session"), help: "Also ask the platform to cancel the bound session.")
    var cancelSession = false

    @Flag(name: .long, help: "Print the lease as the daemon's JSON.")
    var json = false

    func run() async throws {
        try await connection.withClient { client in
            let data = try await client.json(.release(lease, cancelSession: cancelSession))
            try LeaseOutput.print(data, json: json, client: client)
        }
    }
}
