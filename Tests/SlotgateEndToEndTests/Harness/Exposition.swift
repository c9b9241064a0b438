//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Glibc

/// A Prometheus text exposition (`/metrics`), read into its families and sample names.
struct Exposition: Sendable {
    /// Each family's `# TYPE` (counter, gauge, histogram…).
    var types: [String: String] = [:]
    /// Each family's `# HELP` text.
    var help: [String: String] = [:]
    /// The names of the samples (`slotgate_wait_seconds_bucket`, `slotgate_waiters`…).
    var sampleNames: Set<String> = []
    /// What is wrong with the text: a family with two TYPE or HELP lines, a sample of no family, a malformed line.
    var problems: [String] = []

    /// Reads the text.
    /// - Parameter text: the exposition.
    init(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[1].isEmpty else {
                    problems.append("malformed: \(line)")
                    continue
                }
                let name = String(parts[0])
                let isHelp = line.hasPrefix("# HELP ")
                if (isHelp ? help[name] : types[name]) != nil { problems.append("\(name) has two \(isHelp ? "HELP" : "TYPE") lines") }
                if isHelp { help[name] = String(parts[1]) } else { types[name] = String(parts[1]) }
            } else if !line.hasPrefix("#") {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                sampleNames.insert(name)
            }
        }
        for name in sampleNames where family(of: name) == nil {
            problems.append("the sample \(name) has no # TYPE line")
        }
    }

    /// The family a sample name belongs to: itself, or a histogram's name for its `_bucket`, `_sum` and `_count`.
    /// - Parameter sample: the sample name.
    func family(of sample: String) -> String? {
        if types[sample] != nil { return sample }
        for suffix in ["_bucket", "_sum", "_count"] where sample.hasSuffix(suffix) {
            let base = String(sample.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return nil
    }

    /// Whether `name` is a family or a sample name of the exposition.
    /// - Parameter name: a metric name as PromQL uses it.
    func exposes(_ name: String) -> Bool {
        types[name] != nil || sampleNames.contains(name)
    }
}

/// A TCP port nobody listened on a moment ago: the kernel's pick for port 0 on 127.0.0.1, then closed. Another
/// process may take it before the test binds it; the test's daemon then fails to start, visibly.
func unusedTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw HarnessError("bind() failed: errno \(errno)") }
    let named = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw HarnessError("getsockname() failed: errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
