//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser

/// How to ask for a slot: `--holder`, `--priority`, `--wait`, `--ttl` (shared by `acquire` and `run`).
struct RequestOptions: ParsableArguments {
    @Option(name: .long, help: "Who asks (up to 128 characters); the queue is fair between holders of one priority.")
    var holder: String?

    @Option(name: .long, help: "Priority from -10 to 10; higher is granted first (default 0).")
    var priority: Int?

    @Option(name: .long, help: "Seconds to wait for a slot; 0 tries once (default: the daemon's, 300).")
    var wait: Double?

    @Option(name: .long, help: "Seconds an unbound lease lives without renewal, 1 to 3600 (default: the daemon's, 60).")
    var ttl: Double?

    func validate() throws {
        if let priority, !(-10...10).contains(priority) {
            throw ValidationError("--priority must be from -10 to 10.")
        }
        if let wait, !(wait.isFinite && (0...86_400).contains(wait)) {
            throw ValidationError("--wait must be from 0 to 86400 seconds.")
        }
        if let ttl, !(ttl.isFinite && (1...3600).contains(ttl)) {
            throw ValidationError("--ttl must be from 1 to 3600 seconds.")
        }
        if let holder, holder.count > 128 {
            throw ValidationError("--holder must be at most 128 characters.")
        }
    }
}
