//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// Logs an operator can use outside journald: a time on every line, or one JSON object per line, and one info
    /// line per step of a lease.
    @Suite("Log format")
    struct LogFormat {
        /// Whether a line starts with an RFC 3339 time (UTC, milliseconds) and a level.
        static func isTimed(_ line: String) -> Bool {
            let pattern = #/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z (TRACE|DEBUG|INFO|NOTICE|WARNING|ERROR|CRITICAL) \S/#
            return (try? pattern.prefixMatch(in: line)) != nil
        }

        @Test("every text line starts with an RFC 3339 time; a grant, a bind, a release and an expiry log one info line each")
        func textLinesAndLifecycle() async throws {
            try await withStack { simulator, daemon, _ in
                let lease = try #require(try await daemon.grantedLease(holder: "logged")["id"] as? String)
                let session = try #require(try await simulator.createSession().json?["id"] as? String)
                #expect(try await daemon.bind(lease, to: session).status == 200)
                #expect(try await daemon.release(lease).status == 200)
                let short = try #require(try await daemon.grantedLease(holder: "short", claimTTL: 1)["id"] as? String)
                try await eventually("the unbound lease expired and said so") {
                    daemon.child.stderr.text.contains("INFO lease expired") && daemon.child.stderr.text.contains("lease=\(short)")
                }
                let lines = daemon.child.stderr.text.split(separator: "\n").map(String.init)
                let untimed = lines.filter { !Self.isTimed($0) }
                #expect(untimed.isEmpty, "lines without a time: \(untimed.prefix(5))")
                func line(_ message: String, _ id: String) -> String? {
                    lines.first { $0.contains(" INFO \(message) ") && $0.contains("lease=\(id)") }
                }
                let granted = try #require(line("lease granted", lease), "\(lines.suffix(20))")
                #expect(granted.contains("holder=logged") && granted.contains("uid=\(getuid())") && granted.contains("wait_ms="))
                #expect(try #require(line("lease bound", lease)).contains("session=\(session)"))
                let released = lines.first {
                    ($0.contains(" INFO lease released ") || $0.contains(" INFO lease released; ")) && $0.contains("lease=\(lease)")
                }
                #expect(released?.contains("session=\(session)") == true, "\(lines.suffix(20))")
                #expect(lines.filter { $0.contains(" INFO lease granted ") && $0.contains("lease=\(lease)") }.count == 1)
                #expect(line("lease expired", short)?.contains("holder=short") == true)
            }
        }

        @Test("log.format: json writes one JSON object per line with time, level and message")
        func jsonLines() async throws {
            try await withStack(environment: ["SLOTGATE_LOG_FORMAT": "json"]) { _, daemon, _ in
                let lease = try #require(try await daemon.grantedLease(holder: "json \"quoted\"")["id"] as? String)
                try await eventually("the grant is logged") { daemon.child.stderr.text.contains(lease) }
                var objects: [[String: Any]] = []
                for line in daemon.child.stderr.text.split(separator: "\n") {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(object != nil, "not a JSON object: \(line)")
                    if let object { objects.append(object) }
                }
                #expect(objects.allSatisfy { $0["time"] is String && $0["level"] is String && $0["message"] is String })
                let granted = try #require(objects.first { $0["message"] as? String == "lease granted" && $0["lease"] as? String == lease })
                #expect(granted["holder"] as? String == "json \"quoted\"")
                #expect(granted["level"] as? String == "info")
            }
        }
    }
}
