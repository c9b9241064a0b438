//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Testing

extension EndToEnd {
    /// Design.md invariant 7: a step of the wall clock in either direction changes no decision. The real daemon
    /// runs with a small LD_PRELOAD shim (`Tests/shims/realtime_offset.c`, built here with the C compiler) that adds
    /// the seconds written in a file to `CLOCK_REALTIME` while the monotonic clocks, timers and timed waits run on
    /// untouched: what an NTP step or `date -s` does to a process. (libfaketime also moves timers, which stalls
    /// libdispatch's, so it cannot tell the daemon's own faults apart.)
    @Suite("Wall-clock steps")
    struct ClockSteps {
        /// Builds the shim into `directory` and returns its path.
        static func buildShim(in directory: TemporaryDirectory) throws -> String {
            let source = Paths.packageRoot.appendingPathComponent("Tests/shims/realtime_offset.c").path
            let library = directory.file("realtime_offset.so")
            let compiler = Process()
            compiler.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            compiler.arguments = ["cc", "-shared", "-fPIC", "-O1", "-o", library, source, "-ldl"]
            try compiler.run()
            compiler.waitUntilExit()
            guard compiler.terminationStatus == 0 else { throw HarnessError("cc could not build \(source)") }
            return library
        }

        @Test("a wall-clock step back, then forward, by an hour: readings go on, the count holds, no lease expires early")
        func wallClockSteps() async throws {
            let shimDirectory = try TemporaryDirectory()
            defer { shimDirectory.remove() }
            let library = try Self.buildShim(in: shimDirectory)
            let offsetFile = shimDirectory.file("offset")
            try "0\n".write(toFile: offsetFile, atomically: true, encoding: .utf8)
            let environment = ["LD_PRELOAD": library, "REALTIME_OFFSET_FILE": offsetFile]
            try await withStack(simulator: SimulatorOptions(limit: 3, runMilliseconds: "none"), environment: environment) { simulator, daemon, _ in
                try await daemon.waitForStatus("a first reading") { DaemonProcess.slots($0, "limit") == 3 }
                // Back an hour, then forward an hour to the real time.
                var heldID: String?
                for offset in ["-3600", "0"] {
                    try "\(offset)\n".write(toFile: offsetFile, atomically: true, encoding: .utf8)
                    // Two sessions behind the daemon's back fill the platform, with the held lease once there is one.
                    let external = try await simulator.createExternal(count: heldID == nil ? 3 : 2)
                    try await daemon.waitForStatus("a reading after the step to \(offset) s shows the new sessions", timeout: .seconds(10)) {
                        ($0["upstream"] as? [String: Any])?["active"] as? Int == external.count && $0["paused_by"] is NSNull
                    }
                    let refused = try await daemon.acquire(holder: "try-once", wait: 0)
                    #expect(refused.status != 201, "after the step to \(offset) s the platform is full, yet: \(refused)")
                    if let heldID {
                        #expect(try await daemon.lease(heldID)?["state"] as? String == "granted", "a 30 s lease after a step forward by an hour")
                    }
                    for id in external { try await simulator.finish(id) }
                    try await daemon.waitForStatus("the sessions ended", timeout: .seconds(10)) {
                        ($0["upstream"] as? [String: Any])?["active"] as? Int == 0
                    }
                    if heldID == nil {
                        // Granted an hour behind the real time: on the wall clock it expires before the step forward.
                        heldID = try await daemon.grantedLease(holder: "held", wait: 10, claimTTL: 30)["id"] as? String
                    }
                }
                #expect(heldID != nil)
                #expect(try await simulator.stats().createsRefused == 0)
            }
        }
    }
}
