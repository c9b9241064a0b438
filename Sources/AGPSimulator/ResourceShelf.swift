//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Session resources served in parts, for testing a proxy's pass-through (`GET /api/v2/sessions/{id}/resources/{name}`).
///
/// The platform has resource routes whose shapes are not documented (agp-api.md §2 lists them as out of
/// scope); the simulator serves whatever bytes a test defines through `/_sim`. A resource comes in `parts`; a held
/// one sends each part after the first only once a test releases it, so a test can see an answer passed on part by
/// part, and a part large enough not to fit in socket buffers shows whether the reader is still there.
actor ResourceShelf {
    /// A resource as defined through `/_sim`.
    struct Resource: Sendable {
        var bytes: Int
        var parts: Int
        var held: Bool
        var contentType: String
        /// Parts after the first released so far.
        var released = 0

        /// The byte range of part `index`: equal parts, the last one taking the remainder.
        func range(of index: Int) -> Range<Int> {
            let size = bytes / parts
            let start = index * size
            return start..<(index == parts - 1 ? bytes : start + size)
        }
    }

    /// How downloads ended: the whole body written, or the reader gone before the end.
    struct Downloads: Sendable, Equatable {
        var completed = 0
        var aborted = 0
    }

    private var resources: [String: Resource] = [:]
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    private(set) var downloads = Downloads()

    /// Defines (or replaces) a resource.
    func define(_ key: String, _ resource: Resource) {
        resources[key] = resource
    }

    /// The resource under `key`, if defined.
    func resource(_ key: String) -> Resource? {
        resources[key]
    }

    /// Releases `count` more held parts of `key`.
    func release(_ key: String, count: Int) {
        resources[key]?.released += max(count, 0)
        let ready = waiters.removeValue(forKey: key) ?? []
        for waiter in ready { waiter.resume() }
    }

    /// Returns once part `index` of `key` may be sent: at once for the first part and for a resource not held.
    func waitForPart(_ key: String, _ index: Int) async {
        while let resource = resources[key], resource.held, index > resource.released {
            await withCheckedContinuation { waiters[key, default: []].append($0) }
        }
    }

    /// Counts a download that ended.
    func finished(aborted: Bool) {
        if aborted { downloads.aborted += 1 } else { downloads.completed += 1 }
    }

    /// The bytes of part `index`: a fixed pattern (byte `i` of the resource is `i % 251`), so a reader can check
    /// every byte.
    static func part(_ resource: Resource, _ index: Int) -> [UInt8] {
        resource.range(of: index).map { UInt8(truncatingIfNeeded: $0 % 251) }
    }
}
