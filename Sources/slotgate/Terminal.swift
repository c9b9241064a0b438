//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output helpers: whether a stream is a terminal, colour, and unbuffered writes.
enum Terminal {
    /// Whether stdout is a terminal.
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }

    /// Whether stderr is a terminal.
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }

    /// Whether to colour stdout: a terminal, and `NO_COLOR` unset.
    static var colorsStdout: Bool {
        stdoutIsTTY && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
            && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Clears the current line (carriage return, erase to the end).
    static let clearLine = "\r\u{1B}[K"

    /// Moves the cursor home and clears the screen.
    static let clearScreen = "\u{1B}[H\u{1B}[2J"

    /// Writes text to stdout at once (no buffering). When the reader has gone (`slotgate status | head -1`),
    /// exits quietly with 141, as a process killed by SIGPIPE would (SwiftNIO ignores SIGPIPE, so EPIPE comes back).
    static func write(_ text: String) {
        if !writeAll(STDOUT_FILENO, text) { exit(141) }
    }

    /// Writes text to stderr at once; a closed stderr is ignored.
    static func writeError(_ text: String) {
        _ = writeAll(STDERR_FILENO, text)
    }

    /// Writes every byte, retrying on EINTR and short writes; false when the descriptor refuses (EPIPE, EBADF).
    private static func writeAll(_ descriptor: Int32, _ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { buffer in
                #if canImport(Glibc)
                Glibc.write(descriptor, buffer.baseAddress, buffer.count)
                #else
                Darwin.write(descriptor, buffer.baseAddress, buffer.count)
                #endif
            }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            bytes = bytes.dropFirst(written)
        }
        return true
    }

    /// Writes one line to stderr.
    static func printError(_ line: String) {
        writeError(line + "\n")
    }

    /// ANSI styles, applied only when `enabled`.
    struct Style: Sendable {
        /// Whether escapes are written at all.
        var enabled: Bool

        func bold(_ text: String) -> String { wrap(text, "1") }
        func dim(_ text: String) -> String { wrap(text, "2") }
        func red(_ text: String) -> String { wrap(text, "31") }
        func green(_ text: String) -> String { wrap(text, "32") }
        func yellow(_ text: String) -> String { wrap(text, "33") }
        func blue(_ text: String) -> String { wrap(text, "34") }
        func magenta(_ text: String) -> String { wrap(text, "35") }
        func cyan(_ text: String) -> String { wrap(text, "36") }

        private func wrap(_ text: String, _ code: String) -> String {
            enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
        }
    }
}
