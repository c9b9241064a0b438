//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the defaults need to know about the host: its name and its machine id.
///
/// Tests pass fixed values; the daemon uses ``current(machineIDPath:)``.
public struct HostFacts: Sendable, Hashable {
    /// The host name (`gethostname`); may be empty.
    public var hostname: String
    /// The contents of `/etc/machine-id`, or nil when it is unreadable.
    public var machineID: String?

    /// Creates host facts.
    /// - Parameters:
    ///   - hostname: the host name.
    ///   - machineID: the machine id, or nil.
    public init(hostname: String, machineID: String?) {
        self.hostname = hostname
        self.machineID = machineID
    }

    /// Reads the host name and the machine id of this machine.
    /// - Parameter machineIDPath: where the machine id lives.
    /// - Returns: the facts; an unreadable machine id is nil.
    public static func current(machineIDPath: String = "/etc/machine-id") -> HostFacts {
        var buffer = [CChar](repeating: 0, count: 256)
        let hostname: String
        if gethostname(&buffer, buffer.count - 1) == 0 {
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            hostname = String(decoding: bytes, as: UTF8.self)
        } else {
            hostname = ""
        }
        let machineID = FileManager.default.contents(atPath: machineIDPath).map { String(decoding: $0, as: UTF8.self) }
        return HostFacts(hostname: hostname, machineID: machineID)
    }

    /// The default `shared.host_id`: the host name, then `-` and the first 8 characters of the machine id when
    /// there is one. Never empty: a host without a name is `localhost`.
    public var defaultHostID: String {
        let name = hostname.trimmingCharacters(in: .whitespacesAndNewlines)
        let base = name.isEmpty ? "localhost" : name
        let id = (machineID ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? base : "\(base)-\(id.prefix(8))"
    }
}
