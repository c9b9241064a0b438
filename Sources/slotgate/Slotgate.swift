//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SlotgateDaemon

/// `slotgate`: the command-line client of `slotgated`.
@main
struct Slotgate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slotgate",
        abstract: "Take, inspect and release slots of slotgated, the agent platform's concurrency gatekeeper.",
        discussion: """
            Every command talks to slotgated over its Unix socket: --socket PATH, else
            $SLOTGATE_SOCKET, else /run/slotgate/slotgate.sock.

            Exit codes:
              0    success; run: the command's own status (128+N if signal N killed it)
              1    any other API error (lease_not_found, lease_conflict, ...)
              65   the daemon refused the request as malformed (HTTP 400, 413)
              69   slotgated cannot be reached (no socket, refused, permission denied)
              75   try again later: HTTP 503 (wait_timeout, queue_full, shutting_down,
                   upstream_unavailable, token_budget_exhausted) or 502 upstream_error
              76   the daemon's answer could not be read
              77   the lease is another user's (HTTP 403 forbidden): only its owner, root
                   or a member of socket.admin_group may bind, renew or release it
              126  run: the command cannot be executed
              127  run: the command was not found

            Examples:
              slotgate status
              slotgate run --holder nightly -- ./agent.sh --task 42
            """,
        version: Daemon.version,
        subcommands: [
            StatusCommand.self,
            CheckCommand.self,
            LeasesCommand.self,
            AcquireCommand.self,
            BindCommand.self,
            RenewCommand.self,
            ReleaseCommand.self,
            RunCommand.self,
            DemoCommand.self,
        ]
    )

    /// Runs the command line, accepting `--socket PATH` before the subcommand as well as after it.
    static func main() async {
        await main(hoistingSocketOption(Array(CommandLine.arguments.dropFirst())))
    }

    /// Moves a leading `--socket PATH` (or `--socket=PATH`) after the subcommand's name, where the option is declared.
    /// - Parameter arguments: the arguments without the program name.
    static func hoistingSocketOption(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        var hoisted: [String] = []
        while let first = rest.first {
            if first == "--socket", rest.count >= 2 {
                hoisted += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--socket=") {
                hoisted.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        guard !hoisted.isEmpty, let subcommand = rest.first, !subcommand.hasPrefix("-") else { return arguments }
        return [subcommand] + hoisted + rest.dropFirst()
    }
}
