//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import SlotgateClient

/// `slotgate acquire`: take a slot and print the lease id.
struct AcquireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acquire",
        abstract: "Wait for a slot and print the lease id.",
        discussion: """
            The lease is granted to this command but outlives it: bind it to a session (slotgate bind, or the \
            Slotgate-Lease header of the proxy), renew it before its TTL runs out, and release it when done.

            Examples:
              lease=$(slotgate acquire --holder nightly --priority 5 --wait 600)
              slotgate acquire --wait 0 --ttl 300 --json
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var request: RequestOptions

    @Flag(name: .long, help: "Print the lease as the daemon's JSON instead of its id.")
    var json = false

    func run() async throws {
        try await connection.withClient { client in
            let endpoint = SlotgateClient.Endpoint.acquire(holder: request.holder, priority: request.priority, wait: request.wait, ttl: request.ttl)
            let data = try await client.json(endpoint)
            if json {
                Terminal.write(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines) + "\n")
            } else {
                Terminal.write(try client.decode(SlotgateClient.Lease.self, from: data).id + "\n")
            }
        }
    }
}
