//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import SlotgateCore

extension ByteBuffer {
    /// Writes `string` as a JSON string literal: quoted, with `"`, `\` and control characters escaped (RFC 8259
    /// section 7); everything else, non-ASCII included, is written as its UTF-8 bytes.
    /// - Parameter string: the text.
    mutating func writeJSONString(_ string: String) {
        writeInteger(UInt8(ascii: "\""))
        // Ids, holders, states and host names need no escaping: copy them whole.
        if !string.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            writeString(string)
            writeInteger(UInt8(ascii: "\""))
            return
        }
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): writeStaticString(#"\""#)
            case UInt8(ascii: "\\"): writeStaticString(#"\\"#)
            case 0x0A: writeStaticString(#"\n"#)
            case 0x0D: writeStaticString(#"\r"#)
            case 0x09: writeStaticString(#"\t"#)
            case 0x00..<0x20:
                writeStaticString(#"\u00"#)
                writeInteger(Self.hexDigit(byte >> 4))
                writeInteger(Self.hexDigit(byte & 0x0F))
            default: writeInteger(byte)
            }
        }
        writeInteger(UInt8(ascii: "\""))
    }

    /// Writes `string` as a JSON string literal, or `null`.
    /// - Parameter string: the text, or nil.
    mutating func writeJSONString(_ string: String?) {
        guard let string else {
            writeStaticString("null")
            return
        }
        writeJSONString(string)
    }

    /// Writes a timestamp as a JSON string (`ISO8601.format(_:)`), or `null`.
    /// - Parameter timestamp: the instant, or nil.
    mutating func writeJSONTimestamp(_ timestamp: Timestamp?) {
        guard let timestamp else {
            writeStaticString("null")
            return
        }
        writeInteger(UInt8(ascii: "\""))
        ISO8601.withUTF8(timestamp) { _ = writeBytes($0) }
        writeInteger(UInt8(ascii: "\""))
    }

    /// Writes `"key":`.
    /// - Parameter key: a key that needs no escaping.
    mutating func writeJSONKey(_ key: StaticString) {
        writeInteger(UInt8(ascii: "\""))
        writeStaticString(key)
        writeStaticString("\":")
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
