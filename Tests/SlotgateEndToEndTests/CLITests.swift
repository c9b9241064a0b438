//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// The `slotgate` CLI (`.build/debug/slotgate`) against a real daemon.
    @Suite("The slotgate CLI")
    struct CLI {
        static func run(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> ChildProcess {
            let child = try ChildProcess(name: "slotgate", executable: Paths.cli, arguments: arguments, environment: ["PATH": "/usr/bin:/bin"])
            let exited = await child.waitForExit(timeout: timeout)
            if !exited { await child.stop() }
            try #require(exited, "slotgate \(arguments.joined(separator: " ")) still running after \(timeout)")
            return child
        }

        @Test("`run` passes the exit code through and releases the lease")
        func runPassesExitCode() async throws {
            try await withStack { _, daemon, _ in
                let child = try await Self.run(["--socket", daemon.socketPath, "run", "--", "sh", "-c", "exit 3"])
                #expect(child.exitCode == 3, "exit code of `run -- sh -c 'exit 3'`; stderr: \(child.stderr.tail(5))")
                let listing = try await daemon.get("/v1/leases").json
                let leases = listing?["leases"] as? [[String: Any]] ?? []
                let mine = leases.filter { $0["pid"] as? Int == Int(child.pid) }
                #expect(mine.count == 1, "one lease taken by the CLI's process: \(leases)")
                #expect(mine.first?["state"] as? String == "released", "the CLI's lease after the command: \(mine)")
                #expect(DaemonProcess.slots(try await daemon.status(), "held_by_leases") == 0)
            }
        }

        @Test("`leases` lists live leases (`--all` adds ended ones) and shows a lease without a holder as its user's name")
        func leasesListing() async throws {
            try await withStack { _, daemon, _ in
                let anonymous = try #require(try await daemon.grantedLease(holder: "")["id"] as? String)
                let ended = try #require(try await daemon.grantedLease(holder: "done-job")["id"] as? String)
                #expect(try await daemon.release(ended).status == 200)
                let live = try await Self.run(["--socket", daemon.socketPath, "leases"])
                #expect(live.exitCode == 0)
                let user = ProcessInfo.processInfo.userName
                let row = live.stdout.text.split(separator: "\n").first { $0.contains(anonymous) }
                #expect(row?.contains("(\(user))") == true, "\(live.stdout.text)")
                #expect(!live.stdout.text.contains(ended), "an ended lease is not listed by default: \(live.stdout.text)")
                let all = try await Self.run(["--socket", daemon.socketPath, "leases", "--all"])
                #expect(all.stdout.text.contains(ended) && all.stdout.text.contains("done-job"), "\(all.stdout.text)")
            }
        }

        @Test("`status --json` prints JSON with the status keys")
        func statusJSON() async throws {
            try await withStack { _, daemon, _ in
                let child = try await Self.run(["--socket", daemon.socketPath, "status", "--json"])
                #expect(child.exitCode == 0, "stderr: \(child.stderr.tail(5))")
                let data = Data(child.stdout.text.utf8)
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
                let json = try #require(object, "stdout is not a JSON object: \(child.stdout.tail(10))")
                for key in ["version", "ready", "paused_by", "upstream", "slots", "queue"] {
                    #expect(json.keys.contains(key), "status --json has \(key)")
                }
                #expect(json["ready"] as? Bool == true)
            }
        }

        @Test("`status` names the platform it talks to, and says SIMULATOR when upstream.simulate is on")
        func statusNamesTheUpstream() async throws {
            try await withStack { simulator, daemon, _ in
                let upstream = try #require(try await daemon.status()["upstream"] as? [String: Any])
                #expect(upstream["url"] as? String == simulator.baseURL && upstream["simulated"] as? Bool == false, "\(upstream)")
                let child = try await Self.run(["--socket", daemon.socketPath, "status"])
                #expect(child.exitCode == 0)
                #expect(child.stdout.text.contains("platform  \(simulator.baseURL)"), "\(child.stdout.text)")
                #expect(!child.stdout.text.contains("SIMULATOR"))
            }
            try await withStack(environment: ["SLOTGATE_UPSTREAM_SIMULATE": "true"]) { _, daemon, _ in
                let upstream = try #require(try await daemon.status()["upstream"] as? [String: Any])
                #expect(upstream["simulated"] as? Bool == true && (upstream["url"] as? String)?.hasPrefix("http://127.0.0.1:") == true, "\(upstream)")
                let child = try await Self.run(["--socket", daemon.socketPath, "status"])
                #expect(child.stdout.text.contains("SIMULATOR — sessions are not real"), "\(child.stdout.text)")
            }
        }

        @Test("`check` exits 0 while grants are open, 75 naming the reason while they are paused")
        func checkProbe() async throws {
            try await withStack { _, daemon, _ in
                try await daemon.waitForStatus("a first reading") { $0["paused_by"] is NSNull }
                let child = try await Self.run(["--socket", daemon.socketPath, "check"])
                #expect(child.exitCode == 0 && child.stdout.text.hasPrefix("slotgated ready, grants open"), "\(child.stderr.tail(3))")
            }
            var refusing = SimulatorOptions()
            refusing.acceptE2EKey = false
            try await withStack(simulator: refusing) { _, daemon, _ in
                let child = try await Self.run(["--socket", daemon.socketPath, "check"])
                #expect(child.exitCode == 75, "exit \(child.exitCode ?? -1)")
                #expect(child.stderr.text.contains("grants are paused: upstream_unavailable"), "\(child.stderr.tail(3))")
            }
        }

        @Test("a daemon that is down gives one line on stderr naming the socket, and exit 69")
        func downDaemon() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let socket = directory.file("nobody.sock")
            let child = try await Self.run(["--socket", socket, "status"])
            #expect(child.exitCode == 69, "exit code; stderr: \(child.stderr.tail(5))")
            let lines = child.stderr.text.split(separator: "\n", omittingEmptySubsequences: true)
            #expect(lines.count == 1, "exactly one line on stderr: \(lines)")
            #expect(lines.first?.contains(socket) == true, "the line names the socket: \(lines)")
        }
    }
}
