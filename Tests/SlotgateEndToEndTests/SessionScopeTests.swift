//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOHTTP1
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// `proxy.session_scope: uid` with two real uids (root, which runs the tests and is an admin, and `nobody`) on one
    /// daemon whose socket both may open (mode 0666). Sessions run until cancelled (`run_ms: none`).
    @Suite("Session scope", .enabled(if: getuid() == 0, "switching to uid nobody needs root"))
    struct SessionScope {
        static let config = "socket:\n  mode: 0666\nproxy:\n  session_scope: uid\n"

        /// One request through the proxy as uid nobody: its status and body.
        static func asNobody(
            _ directory: TemporaryDirectory,
            socket: String,
            _ method: String,
            _ path: String,
            body: String? = nil
        ) async throws -> (status: Int, body: String) {
            var arguments = ["-s", "-w", "\n%{http_code}", "--max-time", "20", "--unix-socket", socket, "-X", method]
            if let body { arguments += ["-H", "Content-Type: application/json", "-d", body] }
            let curl = try await LeaseOwnership.asNobody(directory, "/usr/bin/curl", arguments + ["http://slotgate\(path)"])
            let text = curl.stdout.text
            let split = text.range(of: "\n", options: .backwards)
            let status = split.flatMap { Int(text[$0.upperBound...]) } ?? -1
            return (status, split.map { String(text[..<$0.lowerBound]) } ?? text)
        }

        static func ids(_ body: String) -> Set<String> {
            let page = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
            return Set((page?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
        }

        @Test("another uid's session answers 403 forbidden on every route; the list holds the caller's own; root sees all")
        func sessionsBelongToTheirCreator() async throws {
            var options = SimulatorOptions()
            options.runMilliseconds = "none"
            try await withStack(simulator: options, config: Self.config) { _, daemon, directory in
                chmod(directory.path, 0o755)
                let socket = daemon.socketPath
                let body = #"{"agent":"h/x","messages":"m","queue":false}"#

                // Root's session, created through the proxy.
                let created = try await daemon.request(.POST, "/api/v2/sessions", json: ["agent": "h/x", "messages": "m", "queue": false])
                try #require(created.status == 201, "\(created)")
                let rootSession = try #require(created.string("id"))

                // Nobody's own session: it reaches it.
                let own = try await Self.asNobody(directory, socket: socket, "POST", "/api/v2/sessions", body: body)
                try #require(own.status == 201, "nobody's create: \(own)")
                let page = (try? JSONSerialization.jsonObject(with: Data(own.body.utf8))) as? [String: Any]
                let nobodysSession = try #require(page?["id"] as? String)
                for path in ["/api/v2/sessions/\(nobodysSession)", "/api/v2/sessions/\(nobodysSession)/status"] {
                    #expect(try await Self.asNobody(directory, socket: socket, "GET", path).status == 200, "nobody reads its own \(path)")
                }

                // Root's session, by nobody: every route is refused with the documented body, and nothing reaches
                // the platform (the session still runs).
                for (method, path, payload) in [
                    ("GET", "/api/v2/sessions/\(rootSession)", nil), ("GET", "/api/v2/sessions/\(rootSession)/status", nil),
                    ("GET", "/api/v2/sessions/\(rootSession)/changes", nil), ("GET", "/api/v2/sessions/\(rootSession)/events", nil),
                    ("POST", "/api/v2/sessions/\(rootSession)/messages", #"{"messages":"hi"}"#),
                    ("DELETE", "/api/v2/sessions/\(rootSession)", nil), ("PUT", "/api/v2/sessions", "{}"),
                ] as [(String, String, String?)] {
                    let answer = try await Self.asNobody(directory, socket: socket, method, path, body: payload)
                    #expect(answer.status == 403 && answer.body.contains("\"forbidden\""), "\(method) \(path) as nobody: \(answer)")
                    if path.hasSuffix(rootSession) {
                        #expect(answer.body.contains("belongs to uid 0 (root)"), "the message names the owner: \(answer.body)")
                    }
                }
                let status = try await daemon.get("/api/v2/sessions/\(rootSession)/status")
                #expect(status.status == 200 && !E2E.terminalStatuses.contains(status.string("status") ?? ""), "root's session still runs: \(status)")

                // The list: nobody sees its own session only; root (an admin) sees both.
                let listed = try await Self.asNobody(directory, socket: socket, "GET", "/api/v2/sessions?size=100")
                #expect(listed.status == 200 && Self.ids(listed.body) == [nobodysSession], "nobody's list: \(listed)")
                let everything = try await daemon.get("/api/v2/sessions?size=100")
                #expect(Set([rootSession, nobodysSession]).isSubset(of: Self.ids(String(decoding: everything.body, as: UTF8.self))))

                // Binding nobody's lease to root's session would make it nobody's: refused.
                let lease = try await Self.asNobody(directory, socket: socket, "POST", "/v1/leases", body: #"{"wait_s":0}"#)
                if lease.status == 201,
                    let id = ((try? JSONSerialization.jsonObject(with: Data(lease.body.utf8))) as? [String: Any])?["id"] as? String
                {
                    let bind = try await Self.asNobody(
                        directory,
                        socket: socket,
                        "POST",
                        "/v1/leases/\(id)/session",
                        body: #"{"session_id":"\#(rootSession)"}"#
                    )
                    #expect(bind.status == 403 && bind.body.contains("\"forbidden\""), "bind to root's session: \(bind)")
                    _ = try await Self.asNobody(directory, socket: socket, "DELETE", "/v1/leases/\(id)")
                } else {
                    Issue.record("nobody's lease: \(lease)")
                }

                // Root reaches nobody's session (admin), and cancels both.
                #expect(try await daemon.get("/api/v2/sessions/\(nobodysSession)/status").status == 200)
                for session in [rootSession, nobodysSession] {
                    #expect(try await daemon.request(.DELETE, "/api/v2/sessions/\(session)").status == 204)
                }
            }
        }

        @Test("a session the daemon did not create is no one's under proxy.session_scope: uid; organization scope reaches it")
        func sessionsCreatedElsewhere() async throws {
            var options = SimulatorOptions()
            options.runMilliseconds = "none"
            for scope in ["uid", "organization"] {
                try await withStack(simulator: options, config: "socket:\n  mode: 0666\nproxy:\n  session_scope: \(scope)\n") {
                    simulator,
                    daemon,
                    directory in
                    chmod(directory.path, 0o755)
                    let outside = try #require(try await simulator.createExternal(count: 1).first)
                    let answer = try await Self.asNobody(directory, socket: daemon.socketPath, "GET", "/api/v2/sessions/\(outside)/status")
                    if scope == "uid" {
                        #expect(answer.status == 403 && answer.body.contains("was not created through slotgated"), "\(answer)")
                        let listed = try await Self.asNobody(directory, socket: daemon.socketPath, "GET", "/api/v2/sessions")
                        #expect(listed.status == 200 && Self.ids(listed.body).isEmpty, "\(listed)")
                    } else {
                        #expect(answer.status == 200, "organization scope: \(answer)")
                    }
                    #expect(try await daemon.get("/api/v2/sessions/\(outside)/status").status == 200, "root reaches it in \(scope) scope")
                }
            }
        }
    }
}
