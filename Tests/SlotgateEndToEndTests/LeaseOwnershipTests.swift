//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// Leases belong to the uid that took them: two real uids (root, which runs the tests, and `nobody`, 65534)
    /// on one daemon whose socket both may open (mode 0666).
    @Suite("Lease ownership", .enabled(if: getuid() == 0, "switching to uid nobody needs root"))
    struct LeaseOwnership {
        static let nobody: UInt32 = 65_534

        /// Runs the CLI as uid and gid 65534 with no supplementary groups. The binary is copied into the test's
        /// directory first: the build directory may sit under a home that uid nobody cannot enter.
        static func asNobody(_ directory: TemporaryDirectory, _ executable: String, _ arguments: [String]) async throws -> ChildProcess {
            let child = try ChildProcess(
                name: "as nobody",
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups", executable] + arguments,
                environment: ["PATH": "/usr/bin:/bin"]
            )
            let exited = await child.waitForExit(timeout: .seconds(30))
            if !exited { await child.stop() }
            try #require(exited, "\(executable) \(arguments) as nobody still running after 30 s")
            return child
        }

        /// The CLI, where uid nobody can run it.
        static func cli(in directory: TemporaryDirectory) throws -> String {
            let copy = directory.file("slotgate")
            if !FileManager.default.fileExists(atPath: copy) {
                try FileManager.default.copyItem(atPath: Paths.cli, toPath: copy)
            }
            chmod(directory.path, 0o755)
            chmod(copy, 0o755)
            return copy
        }

        @Test("another uid's bind, renew and release answer 403 forbidden; its own lease is its own; root may act and is logged")
        func anotherUIDsLeaseIsForbidden() async throws {
            try await withStack(config: "socket:\n  mode: 0666\n") { _, daemon, directory in
                let cli = try Self.cli(in: directory)
                let socket = daemon.socketPath
                let rootLease = try #require(try await daemon.grantedLease(holder: "root-job", wait: 5)["id"] as? String)

                for arguments in [
                    ["release", rootLease], ["release", rootLease, "--cancel-session"], ["renew", rootLease], ["bind", rootLease, "ses-x"],
                ] {
                    let child = try await Self.asNobody(directory, cli, ["--socket", socket] + arguments)
                    #expect(child.exitCode == 77, "slotgate \(arguments) as nobody: exit \(child.exitCode ?? -1); \(child.stderr.tail(3))")
                    let line = child.stderr.text
                    #expect(line.contains("forbidden") && line.contains("belongs to uid 0 (root)"), "the CLI says why: \(line)")
                }
                #expect(try await daemon.lease(rootLease)?["state"] as? String == "granted", "root's lease is untouched")

                // The same refusal for a proxied create that names root's lease.
                let curl = try await Self.asNobody(
                    directory,
                    "/usr/bin/curl",
                    [
                        "-s", "-w", "\n%{http_code}", "--unix-socket", socket, "-X", "POST", "-H", "Slotgate-Lease: \(rootLease)",
                        "-H", "Content-Type: application/json", "-d", #"{"agent":"h/x","messages":"m","queue":false}"#,
                        "http://slotgate/api/v2/sessions",
                    ]
                )
                #expect(curl.stdout.text.hasSuffix("\n403") && curl.stdout.text.contains("\"forbidden\""), "proxied create: \(curl.stdout.text)")
                #expect(try await daemon.lease(rootLease)?["state"] as? String == "granted")

                // Nobody's own lease: it takes, renews and releases it.
                let acquired = try await Self.asNobody(directory, cli, ["--socket", socket, "acquire", "--holder", "nobody-job", "--wait", "5"])
                #expect(acquired.exitCode == 0, "acquire as nobody: \(acquired.stderr.tail(3))")
                let ownLease = acquired.stdout.text.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(try await daemon.lease(ownLease)?["uid"] as? Int == Int(Self.nobody))
                for arguments in [["renew", ownLease], ["release", ownLease]] {
                    let child = try await Self.asNobody(directory, cli, ["--socket", socket] + arguments)
                    #expect(child.exitCode == 0, "slotgate \(arguments) on its own lease: \(child.stderr.tail(3))")
                }

                // Root acts on nobody's lease, and the daemon says so at notice level with both uids.
                let second = try await Self.asNobody(directory, cli, ["--socket", socket, "acquire", "--wait", "5"])
                let nobodysLease = second.stdout.text.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(try await daemon.release(nobodysLease).status == 200)
                try await eventually("the admin's action is logged", timeout: .seconds(5), interval: .milliseconds(50)) {
                    daemon.child.stderr.text.split(separator: "\n").contains {
                        $0.contains("an administrator acts on another user's lease") && $0.contains("owner_uid=65534") && $0.contains("peer_uid=0")
                            && $0.contains(nobodysLease)
                    }
                }
                #expect(try await daemon.release(rootLease).status == 200)
            }
        }

        @Test("socket.admin_group naming no group stops the start with exit 78 naming the key")
        func unknownAdminGroup() async throws {
            let directory = try TemporaryDirectory()
            defer { directory.remove() }
            let config = directory.file("slotgate.yaml")
            try "upstream:\n  simulate: true\nsocket:\n  admin_group: no-such-group-sg\n".write(toFile: config, atomically: true, encoding: .utf8)
            let child = try ChildProcess(
                name: "slotgated",
                executable: Paths.slotgated,
                arguments: ["--config", config, "--socket", directory.file("d.sock"), "--state-dir", directory.file("state")],
                environment: ["PATH": "/usr/bin:/bin"]
            )
            let exited = await child.waitForExit(timeout: .seconds(20))
            if !exited { await child.stop() }
            #expect(exited && child.exitCode == 78, "exit \(child.exitCode ?? -1)")
            #expect(child.stderr.text.contains("socket.admin_group: there is no group named \"no-such-group-sg\""), "\(child.stderr.tail(5))")
        }
    }
}
