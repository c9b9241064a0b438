//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// A strict reader of HTTP/1.1 answers as they come off a socket, one after the other: the status line, header
/// lines and the body framed by `Content-Length` or chunked encoding. What it does not take is not a well-formed
/// answer, and a client could not read past it.
enum HTTPAnswerParser {
    enum Outcome {
        /// A whole answer, the bytes it took, and whether it says `Connection: close`.
        case answer(HTTPReply, consumed: Int, closes: Bool)
        /// More bytes are needed.
        case incomplete
        /// Not a well-formed answer.
        case malformed(String)
    }

    /// Reads the answer at the start of `bytes`. `bodiless` is true for the answer to a HEAD request.
    static func parse(_ bytes: ArraySlice<UInt8>, bodiless: Bool = false, atEOF: Bool = false) -> Outcome {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = bytes.firstRange(of: separator) else {
            if bytes.count > 64 * 1024 { return .malformed("no end of the head in \(bytes.count) bytes") }
            return .incomplete
        }
        let headBytes = bytes[bytes.startIndex..<headEnd.lowerBound]
        if headBytes.contains(where: { $0 == 0 || $0 >= 0x80 }) { return .malformed("a NUL or non-ASCII byte in the head") }
        let lines = String(decoding: headBytes, as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = lines.first else { return .malformed("no status line") }
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1", parts[1].count == 3, let status = Int(parts[1]), (100...599).contains(status) else {
            return .malformed("a bad status line \(statusLine.debugDescription.prefix(80))")
        }
        var headers: [String: String] = [:]
        var contentLengths: [String] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .malformed("a header line without a colon: \(line.prefix(80))") }
            let name = line[..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenCharacter) else { return .malformed("a bad header name \(name.prefix(40))") }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if value.contains(where: { $0 == "\r" || $0 == "\n" }) { return .malformed("a CR or LF in header \(name)") }
            let key = name.lowercased()
            if key == "content-length" { contentLengths.append(value) }
            headers[key] = headers[key].map { $0 + ", " + value } ?? value
        }
        let closes = headers["connection"]?.lowercased().contains("close") == true
        var offset = headEnd.upperBound
        let noBody = bodiless || status == 204 || status == 304 || (100..<200).contains(status)
        if noBody { return .answer(HTTPReply(status: status, headers: headers, body: []), consumed: offset - bytes.startIndex, closes: closes) }
        if let encoding = headers["transfer-encoding"] {
            guard encoding.lowercased() == "chunked", contentLengths.isEmpty else {
                return .malformed("Transfer-Encoding \(encoding) with \(contentLengths.count) Content-Length")
            }
            var body: [UInt8] = []
            while true {
                guard let lineEnd = bytes[offset...].firstRange(of: [13, 10]) else { return .incomplete }
                let sizeText = String(decoding: bytes[offset..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText, radix: 16), size >= 0 else { return .malformed("a bad chunk size \(sizeText.prefix(20))") }
                offset = lineEnd.upperBound
                if size == 0 {
                    // Trailers, then the empty line.
                    while true {
                        guard let end = bytes[offset...].firstRange(of: [13, 10]) else { return .incomplete }
                        let empty = end.lowerBound == offset
                        offset = end.upperBound
                        if empty { break }
                    }
                    break
                }
                guard bytes.endIndex - offset >= size + 2 else { return .incomplete }
                body.append(contentsOf: bytes[offset..<offset + size])
                guard bytes[offset + size] == 13, bytes[offset + size + 1] == 10 else { return .malformed("a chunk not ended by CRLF") }
                offset += size + 2
            }
            return .answer(HTTPReply(status: status, headers: headers, body: body), consumed: offset - bytes.startIndex, closes: closes)
        }
        if contentLengths.isEmpty, closes {
            // The body ends where the connection does (RFC 9112 §6.3), as NIO frames an answer to CONNECT.
            guard atEOF else { return .incomplete }
            return .answer(
                HTTPReply(status: status, headers: headers, body: Array(bytes[offset...])),
                consumed: bytes.endIndex - bytes.startIndex,
                closes: closes
            )
        }
        guard contentLengths.count == 1, let length = Int(contentLengths[0]), length >= 0 else {
            return .malformed("no single valid Content-Length (\(contentLengths)), not chunked, and the connection stays open")
        }
        guard bytes.endIndex - offset >= length else { return .incomplete }
        let body = Array(bytes[offset..<offset + length])
        offset += length
        return .answer(HTTPReply(status: status, headers: headers, body: body), consumed: offset - bytes.startIndex, closes: closes)
    }

    private static func isTokenCharacter(_ character: Character) -> Bool {
        guard let ascii = character.asciiValue, ascii > 32, ascii < 127 else { return false }
        return !"()<>@,;:\\\"/[]?={}".contains(character)
    }
}
