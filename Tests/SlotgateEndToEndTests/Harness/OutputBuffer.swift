//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Synchronization

/// Bytes collected from another thread (a child's stdout or stderr, answers received), readable at any time.
final class OutputBuffer: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    func append(_ data: some Sequence<UInt8>) {
        bytes.withLock { $0.append(contentsOf: data) }
    }

    func append(_ text: String) {
        append(Array(text.utf8))
    }

    var text: String {
        bytes.withLock { String(decoding: $0, as: UTF8.self) }
    }

    func contains(_ needle: String) -> Bool {
        text.contains(needle)
    }

    /// The last `count` lines, with `secret` replaced so that printing them cannot leak it.
    func tail(_ count: Int, redacting secret: String = E2E.apiKey) -> String {
        // The service group's start-up lines describe whole services: long and useless here.
        let lines = text.replacingOccurrences(of: secret, with: "<API-KEY>")
            .split(separator: "\n")
            .filter { !$0.contains("Starting service") }
            .map { $0.count > 400 ? $0.prefix(400) + "…" : $0 }
        return lines.suffix(count).joined(separator: "\n")
    }
}

/// A value shared between tasks of one test.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    var value: Value { mutex.withLock { $0 } }

    func update(_ change: (inout Value) -> Void) {
        mutex.withLock { change(&$0) }
    }
}
