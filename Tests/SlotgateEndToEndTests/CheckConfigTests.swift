//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// `slotgated --check-config`: the unit's reload runs it first (`nginx -t`, `consul validate`).
    @Suite("Checking the configuration")
    struct CheckConfig {
        static func check(_ yaml: String, environment: [String: String] = [:]) async throws -> (ChildProcess, TemporaryDirectory) {
            let directory = try TemporaryDirectory()
            let config = directory.file("slotgate.yaml")
            try yaml.write(toFile: config, atomically: true, encoding: .utf8)
            let child = try ChildProcess(
                name: "slotgated --check-config",
                executable: Paths.slotgated,
                arguments: ["--check-config", "--config", config, "--socket", directory.file("d.sock"), "--state-dir", directory.file("state")],
                environment: ["PATH": "/usr/bin:/bin"].merging(environment) { _, new in new }
            )
            let exited = await child.waitForExit(timeout: .seconds(20))
            if !exited { await child.stop() }
            try #require(exited, "slotgated --check-config still running after 20 s")
            return (child, directory)
        }

        @Test("a file a start would accept: exit 0 and one line; nothing is created")
        func valid() async throws {
            let (child, directory) = try await Self.check("slots:\n  reserve: 1\n", environment: ["SLOTGATE_API_KEY": E2E.apiKey])
            defer { directory.remove() }
            #expect(child.exitCode == 0, "exit \(child.exitCode ?? -1): \(child.stderr.tail(5))")
            #expect(child.stdout.text.hasPrefix("slotgated: the configuration is valid ("), "\(child.stdout.text)")
            #expect(!child.stdout.text.contains(E2E.apiKey) && !child.stderr.text.contains(E2E.apiKey))
            for path in ["d.sock", "state"] {
                #expect(!FileManager.default.fileExists(atPath: directory.file(path)), "\(path) was created by a check")
            }
        }

        @Test(
            "a file a start would refuse: exit 78 with the start's message",
            arguments: [
                ("slots:\n  reserve: many\n", "slots.reserve: must be a whole number"),
                ("socket:\n  group: no-such-group-sg\n", "socket.group: there is no group named \"no-such-group-sg\""),
                ("slots:\n  resreve: 1\n", "slots.resreve"),
            ]
        )
        func refused(yaml: String, message: String) async throws {
            let (child, directory) = try await Self.check(yaml, environment: ["SLOTGATE_API_KEY": E2E.apiKey])
            defer { directory.remove() }
            #expect(child.exitCode == 78, "exit \(child.exitCode ?? -1)")
            #expect(child.stderr.text.contains(message), "\(child.stderr.tail(5))")
            #expect(child.stdout.text.isEmpty)
        }

        @Test("no API key and no simulator: exit 78 naming where a key comes from")
        func noKey() async throws {
            let (child, directory) = try await Self.check("# nothing\n")
            defer { directory.remove() }
            #expect(child.exitCode == 78 && child.stderr.text.contains("no API key for the platform"), "\(child.stderr.tail(5))")
        }
    }
}
