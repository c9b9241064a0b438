//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The platform API key, kept out of every description, log line and error.
///
/// The key leaves the process only in the `Authorization` header of requests to the platform.
/// `description`, `debugDescription` and the reflection mirror all show `<redacted>`, so
/// printing, interpolating or dumping a value that holds a key does not reveal it.
public struct APIKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself; read only where the `Authorization` header is built or text is redacted.
    let secret: String

    /// Creates a key, trimming surrounding whitespace (systemd credentials and env files often end in a newline).
    /// - Parameter value: the key as read from a credential or the environment; nil when it is blank.
    public init?(_ value: String) {
        let trimmed = value.trimmingWhitespace()
        guard !trimmed.isEmpty else { return nil }
        self.secret = trimmed
    }

    public var description: String { "<redacted>" }

    public var debugDescription: String { "APIKey(<redacted>)" }

    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// The value of the `Authorization` header.
    var authorizationHeader: String { "Bearer \(secret)" }
}

extension String {
    /// The string without leading and trailing spaces, tabs, carriage returns and newlines.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
