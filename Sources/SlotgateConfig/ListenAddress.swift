//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A loopback TCP address (`metrics.listen`): `127.0.0.0/8`, `::1` or `localhost`, and a port.
///
/// Leases are never served over TCP, so nothing but loopback is accepted.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host, without brackets: `127.0.0.1`, `::1` or `localhost`.
    public var host: String
    /// The TCP port, 1...65535.
    public var port: Int

    /// Parses `host:port` (`[::1]:port` for IPv6; `::1:port` is accepted too).
    /// - Parameter text: the address.
    /// - Returns: the address, or nil when it is malformed or not loopback.
    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard portText.allSatisfy(Self.isDigit), let port = Int(portText), (1...65_535).contains(port), Self.isLoopback(host) else { return nil }
        self.host = host.lowercased()
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private static func isDigit(_ character: Character) -> Bool {
        character.isASCII && character.isNumber
    }

    private static func isLoopback(_ host: Substring) -> Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" || lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        let values = octets.compactMap { octet -> Int? in
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(Self.isDigit) else { return nil }
            return Int(octet).flatMap { (0...255).contains($0) ? $0 : nil }
        }
        return values.count == 4 && values[0] == 127
    }
}
