//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Configuration
import Synchronization

/// Notes which provider answered each read of a `ConfigReader`, so an error can name the layer (file,
/// environment variable, flag) the bad value came from. `ConfigReader` reports every read synchronously,
/// before the read returns.
final class LayerRecorder: AccessReporter, Sendable {
    /// The provider that answered a key, by its index in the reader's provider list.
    struct Answer: Sendable, Hashable {
        /// The index of the first provider that had the key, or that threw.
        var providerIndex: Int
        /// Whether that provider threw instead of answering (a list or mapping where a value belongs).
        var failed: Bool
    }

    private let answers = Mutex<[String: Answer]>([:])

    func report(_ event: AccessEvent) {
        let key = event.metadata.key.components.joined(separator: ".")
        for (index, providerResult) in event.providerResults.enumerated() {
            switch providerResult.result {
            case .success(let lookup) where lookup.value != nil:
                answers.withLock { $0[key] = Answer(providerIndex: index, failed: false) }
                return
            case .success:
                continue
            case .failure:
                answers.withLock { $0[key] = Answer(providerIndex: index, failed: true) }
                return
            }
        }
    }

    /// The provider that answered the last read of `key`.
    func answer(for key: String) -> Answer? {
        answers.withLock { $0[key] }
    }
}
