//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Every answer the end-to-end tests receive from `slotgated`, one JSON object a line, in the file that
/// `SLOTGATE_E2E_ANSWERS` names (`make test` sets it): `Tests/python/test_openapi.py` checks each against
/// `docs/openapi.yaml`, so the document cannot drift from what the daemon answers. Without the variable nothing
/// is written.
///
/// A line is `{"method", "uri", "status", "headers", "body"}` (`body_base64` instead of `body` when it is not
/// UTF-8). `method` and `uri` are null for an answer to bytes that are no HTTP request to speak of (the fuzz and
/// parse-error tests). A line of a streamed answer is recorded as an answer of its own whose body is that line, with
/// `"stream_line": true` (its headers are those of the line, not of the answer).
enum AnswerLog {
    /// The file, opened for appending once; each entry is one `write`, whole, so that parallel tests do not
    /// interleave their lines.
    private static let descriptor: Int32? = {
        guard let path = ProcessInfo.processInfo.environment["SLOTGATE_E2E_ANSWERS"], !path.isEmpty else { return nil }
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        return fd >= 0 ? fd : nil
    }()

    /// Appends one answer.
    /// - Parameters:
    ///   - reply: the answer.
    ///   - method: the request's method, or nil when the request was not one.
    ///   - uri: the request's target (path and query), or nil.
    ///   - streamLine: the reply is one line of a streamed answer.
    static func append(_ reply: HTTPReply, method: String?, uri: String?, streamLine: Bool = false) {
        guard let descriptor else { return }
        var entry: [String: Any] = [
            "method": method ?? NSNull(),
            "uri": uri ?? NSNull(),
            "status": reply.status,
            "headers": reply.headers,
        ]
        if streamLine { entry["stream_line"] = true }
        if let text = String(validating: reply.body, as: UTF8.self) {
            entry["body"] = text
        } else {
            entry["body_base64"] = Data(reply.body).base64EncodedString()
        }
        guard var line = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        line.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                guard written > 0 else { return }
                offset += written
            }
        }
    }

    /// The method and target of the first request in `bytes` (`METHOD TARGET HTTP/1.1`), or nil.
    static func requestLine(_ bytes: [UInt8]) -> (method: String, uri: String)? {
        guard let end = bytes.firstIndex(of: 0x0D) else { return nil }
        let parts = String(decoding: bytes[..<end], as: UTF8.self).split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/") else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}
