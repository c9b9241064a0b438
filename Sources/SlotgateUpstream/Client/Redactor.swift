//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Removes the API key from any text before it reaches a log line or an error.
///
/// The client never puts the key into text on purpose; this guards against a platform or a library echoing it.
struct Redactor: Sendable {
    private let secret: String?

    init(key: APIKey?) {
        self.secret = key?.secret
    }

    /// The text with every occurrence of the key replaced by `<redacted>`.
    func callAsFunction(_ text: String) -> String {
        guard let secret, !secret.isEmpty, text.contains(secret) else { return text }
        return text.replacing(secret, with: "<redacted>")
    }
}
