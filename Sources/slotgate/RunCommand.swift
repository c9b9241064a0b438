//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import SlotgateClient

/// `slotgate run -- CMD ARGS…`: hold a slot for the life of a command.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Wait for a slot, run a command while holding it, then release it.",
        discussion: """
            The command gets SLOTGATE_LEASE_ID and SLOTGATE_SOCKET in its environment: send its session create \
            through the proxy with the header Slotgate-Lease: $SLOTGATE_LEASE_ID (or bind the lease with \
            slotgate bind) and the slot stays counted until the platform reports the session ended. The lease is \
            renewed while the command runs and released when it exits. SIGINT, SIGTERM, SIGHUP and SIGQUIT are \
            passed on to the command. slotgate exits with the command's status (128+N if signal N killed it); \
            126 or 127 if it cannot be started.

            Examples:
              slotgate run --holder nightly -- ./agent.sh --task 42
              slotgate run --priority 5 --wait 60 -- python3 agent.py
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var request: RequestOptions

    @Argument(parsing: .remaining, help: "The command and its arguments, after -- (slotgate run [options] -- COMMAND ...).")
    var command: [String] = []

    /// The command without the `--` that separates it from slotgate's options.
    private var commandLine: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    func validate() throws {
        if commandLine.isEmpty {
            throw ValidationError("Name the command to run: slotgate run [options] -- COMMAND [ARGUMENTS…]")
        }
    }

    func run() async throws {
        let socketPath = connection.socketPath
        let status: Int32 = try await connection.withClient { client in
            let lease = try await acquire(client)
            var environment = ProcessInfo.processInfo.environment
            environment["SLOTGATE_LEASE_ID"] = lease.id
            environment["SLOTGATE_SOCKET"] = socketPath

            SignalForwarder.install()
            let child: ChildProcess
            do throws(ChildProcess.SpawnFailure) {
                child = try ChildProcess.spawn(commandLine, environment: environment)
            } catch {
                Terminal.printError(error.line)
                await release(lease, client: client)
                return error.exitCode
            }
            SignalForwarder.attach(child.pid)

            let renewal = Task { await keepAlive(lease, client: client) }
            let status = await child.waitForExit()
            renewal.cancel()
            await release(lease, client: client)
            return status
        }
        throw ExitCode(status)
    }

    /// Takes a slot: with a live "position N of M, about 2 min" line on stderr when it is a terminal, else by
    /// long-poll.
    private func acquire(_ client: SlotgateClient) async throws(ClientError) -> SlotgateClient.Lease {
        guard Terminal.stderrIsTTY else {
            return try await client.acquire(holder: request.holder, priority: request.priority, wait: request.wait, ttl: request.ttl)
        }
        let shown = ShownLine()
        let onQueued: @Sendable (Int, Int, Double?) async -> Void = { position, waiting, eta in
            let estimate = Format.estimate(eta).map { ", \($0)" } ?? ""
            await shown.show("slotgate: waiting for a slot: position \(position) of \(waiting)\(estimate)")
        }
        do {
            let lease = try await client.acquire(
                holder: request.holder,
                priority: request.priority,
                wait: request.wait,
                ttl: request.ttl,
                onQueued: onQueued
            )
            await shown.clear()
            return lease
        } catch {
            await shown.clear()
            throw error
        }
    }

    /// Renews the lease every third of its claim TTL while it is unbound; a bound lease needs no renewal.
    private func keepAlive(_ lease: SlotgateClient.Lease, client: SlotgateClient) async {
        let ttl = lease.claimTTL ?? request.ttl.map { .milliseconds(Int64($0 * 1000)) } ?? .seconds(60)
        let interval = max(ttl / 3, .milliseconds(500))
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            do {
                let renewed = try await client.renew(lease.id)
                if renewed.state != .granted { return }
            } catch {
                // The daemon restarting is no reason to stop; an ended lease is.
                if !error.isUnreachable { return }
            }
        }
    }

    /// Releases the lease; a failure is told on stderr but does not change the exit status.
    private func release(_ lease: SlotgateClient.Lease, client: SlotgateClient) async {
        do {
            _ = try await client.release(lease.id)
        } catch {
            Terminal.printError("slotgate: could not release lease \(lease.id): \(Failure.line(for: error).dropFirst("slotgate: ".count))")
        }
    }
}

/// The live status line on stderr, written from the acquire's callback.
private actor ShownLine {
    private var visible = false

    func show(_ text: String) {
        Terminal.writeError(Terminal.clearLine + text)
        visible = true
    }

    func clear() {
        if visible { Terminal.writeError(Terminal.clearLine) }
        visible = false
    }
}
