//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import SlotgateClient

/// `slotgate status`: slots, the platform reading, tokens and the queue.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show slots in use, the platform's limit and health, tokens and the queue.",
        discussion: """
            The slots line: in use (the platform's count, plus leases it does not show yet) · free · held by \
            leases (this daemon's granted or bound leases) · external: slots the platform counts that no lease \
            holds. Those are sessions created outside slotgate (another client of the organization, a create by \
            hand) and sessions still running after their lease was released without --cancel-session. They \
            take slots like any other until the platform reports them ended.

            Examples:
              slotgate status --watch
              slotgate --socket /tmp/slotgate.sock status --json
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Flag(name: .long, help: "Print the daemon's JSON answer unchanged.")
    var json = false

    @Flag(name: .long, help: "Refresh every second until interrupted.")
    var watch = false

    func run() async throws {
        try await connection.withClient { client in
            repeat {
                let text: String
                if json {
                    let data = try await client.json(.status)
                    text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines) + "\n"
                } else {
                    text = StatusView(status: try await client.status(), style: .init(enabled: Terminal.colorsStdout)).render() + "\n"
                }
                if watch && Terminal.stdoutIsTTY {
                    Terminal.write(Terminal.clearScreen + text)
                } else {
                    Terminal.write(text + (watch && !json ? "\n" : ""))
                }
                if watch { try await Task.sleep(for: .seconds(1)) }
            } while watch
        }
    }
}
