//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import Logging
import SlotgateConfig
import SlotgateDaemon

/// `slotgated`: the gatekeeper daemon.
@main
struct Slotgated: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slotgated",
        abstract: "Keeps an organization under its concurrent-session limit on the agent platform.",
        discussion: """
            Settings come from built-in defaults, the YAML file, SLOTGATE_* environment variables and these flags,
            later ones winning. The API key comes from the systemd credential agp-api-key or from SLOTGATE_API_KEY,
            H_API_KEY or HAI_API_KEY. SIGHUP re-reads the settings; SIGTERM stops.

            Examples:
              slotgated --check-config --config /etc/slotgate/slotgate.yaml
              SLOTGATE_UPSTREAM_SIMULATE=true slotgated --socket /tmp/slotgate.sock --state-dir /tmp/slotgate-state
            """,
        version: Daemon.version
    )

    @Option(name: .long, help: "The YAML configuration file (default /etc/slotgate/slotgate.yaml, which may be missing).")
    var config: String?

    @Option(name: .long, help: "The Unix socket of the local API (socket.path).")
    var socket: String?

    @Option(name: .customLong("state-dir"), help: "The state directory (state.dir).")
    var stateDir: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (log.level).")
    var logLevel: String?

    @Flag(
        name: .customLong("reset-state"),
        help: """
            If the lease ledger cannot be opened (corrupt, unreadable, newer schema), move it aside and start with no leases \
            (never while another slotgated holds the state directory).
            """
    )
    var resetState = false

    @Flag(
        name: .customLong("check-config"),
        help: """
            Check the configuration exactly as a start would (the file, SLOTGATE_* variables, the flags, the API key, the \
            socket's groups), print the result and exit: 0 when a start would accept it, 78 with the reason otherwise. \
            Nothing else is touched: the unit's reload runs it first.
            """
    )
    var checkConfig = false

    func run() async throws {
        LoggingSystem.bootstrap { DaemonLogHandler(label: $0) }
        var daemon = Daemon(overrides: CommandLineOverrides(configPath: config, socketPath: socket, stateDirectory: stateDir, logLevel: logLevel))
        daemon.resetState = resetState
        do {
            if checkConfig {
                let settings = try await daemon.checkConfiguration()
                let file = config ?? "/etc/slotgate/slotgate.yaml"
                let upstream = settings.simulate ? "the built-in simulator" : settings.upstreamURLText
                print("slotgated: the configuration is valid (\(file); upstream \(upstream); socket \(settings.socketPath))")
                return
            }
            try await daemon.run()
        } catch let error as Daemon.StartError {
            FileHandle.standardError.write(Data("slotgated: \(error.description)\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }
}
