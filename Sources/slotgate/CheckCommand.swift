//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SlotgateClient

/// `slotgate check`: a health probe for scripts and monitoring; the exit code says whether slots can be granted.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Exit 0 when the daemon is ready and grants slots, 75 when grants are paused, 69 when it cannot be reached.",
        discussion: """
            Prints one line either way. Grants pause while the daemon has no fresh reading of the platform's quota, while \
            the token allowance is below tokens.min_remaining, and while it shuts down (`slotgate status` shows the reason).

            A unit that must not start while grants are paused can say ExecStartPre=/usr/local/bin/slotgate check.

            Examples:
              slotgate check && echo ok
              until slotgate check; do sleep 5; done
            """
    )

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await connection.withClient { client in
            let status = try await client.status()
            if !status.ready {
                Terminal.printError("slotgate: slotgated is starting; grants are not open yet")
                throw ExitCode(Failure.temporary)
            }
            if let reason = status.pausedBy {
                let detail = status.upstream?.lastError.map { " (last platform error: \($0))" } ?? ""
                Terminal.printError("slotgate: grants are paused: \(reason)\(detail)")
                throw ExitCode(Failure.temporary)
            }
            let slots = status.slots.map { " · \($0.inUse)/\($0.limit) slots in use" } ?? ""
            let simulated = status.upstream?.simulated == true ? " · SIMULATOR" : ""
            Terminal.write("slotgated ready, grants open\(slots)\(simulated)\n")
        }
    }
}
