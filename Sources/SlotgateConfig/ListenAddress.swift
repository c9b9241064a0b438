//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// A TCP address (`metrics.listen`): an IPv4 or IPv6 address or a host name, and a port.
///
/// Only `/metrics` and `/healthz` are served there, never leases; both are unauthenticated, so the daemon warns at
/// start when the address is not loopback (``isLoopback``).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host, without brackets and in lower case: `127.0.0.1`, `::1`, `0.0.0.0`, `localhost`, `metrics.example`.
    public var host: String
    /// The TCP port, 1...65535.
    public var port: Int

    /// Parses `host:port` (`[::1]:port` for IPv6; `::1:port` is accepted too).
    /// - Parameter text: the address.
    /// - Returns: the address, or nil when it is malformed: no port, a port out of range, or a host that is neither
    ///   an IP address nor a valid host name.
    public init?(parsing text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            guard host.contains(":") else { return nil }
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard portText.allSatisfy(Self.isDigit), let port = Int(portText), (1...65_535).contains(port), Self.isValidHost(host) else { return nil }
        self.host = host.lowercased()
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Whether only this machine can connect: `127.0.0.0/8`, `::1` (also as `::ffff:127.x.y.z`) or `localhost`.
    public var isLoopback: Bool {
        if host == "localhost" { return true }
        if let octets = Self.ipv4(host[...]) { return octets[0] == 127 }
        guard let bytes = Self.ipv6(host[...]) else { return false }
        let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        return bytes == Array(repeating: 0, count: 15) + [1] || (Array(bytes.prefix(12)) == mappedPrefix && bytes[12] == 127)
    }

    private static func isDigit(_ character: Character) -> Bool {
        character.isASCII && character.isNumber
    }

    private static func isValidHost(_ host: Substring) -> Bool {
        if host.contains(":") { return ipv6(host) != nil }
        // Digits and dots only: an IPv4 address or nothing (`10.0.0` is not a host name to look up).
        if host.allSatisfy({ isDigit($0) || $0 == "." }) { return ipv4(host) != nil }
        return isHostName(host)
    }

    /// The four octets of a dotted-quad IPv4 address.
    private static func ipv4(_ host: Substring) -> [Int]? {
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        let values = octets.compactMap { octet -> Int? in
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(Self.isDigit) else { return nil }
            return Int(octet).flatMap { (0...255).contains($0) ? $0 : nil }
        }
        return values.count == 4 ? values : nil
    }

    /// The sixteen bytes of an IPv6 address (no zone index: a link-local address needs one, and gets refused).
    private static func ipv6(_ host: Substring) -> [UInt8]? {
        var address = in6_addr()
        guard inet_pton(AF_INET6, String(host), &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// An RFC 1123 host name: dot-separated labels of letters, digits and hyphens, 1-63 characters each, no label
    /// starting or ending with a hyphen, 253 characters in all.
    private static func isHostName(_ host: Substring) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}
