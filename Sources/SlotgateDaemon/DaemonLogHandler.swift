//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateSystemd
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's log output on stderr: one line per event, its RFC 3339 time (UTC, milliseconds) first, then the
/// level, the message and its metadata as `key=value`; with `log.format: json`, one JSON object per line instead
/// (`time`, `level`, `message`, `logger`, then the metadata keys). The level and the format are shared by every
/// logger and can change at run time (a reload of `log.level` or `log.format`).
///
/// When stderr is the journal (`JOURNAL_STREAM` names it), each event goes to journald as a structured entry
/// instead: `MESSAGE` (the line without its level), `PRIORITY`, `SYSLOG_IDENTIFIER=slotgated`, the code location
/// and one field per metadata key (`lease_id` → `LEASE_ID`). If journald refuses the entry, the line is written to
/// stderr with a `<N>` priority prefix, which journald's stream reader also understands.
public struct DaemonLogHandler: LogHandler {
    /// The level every daemon logger follows.
    public static let sharedLevel = Atomic<Int>(Logger.Level.info.rank)
    /// Whether lines outside journald are JSON objects (`log.format: json`) rather than text.
    public static let writesJSON = Atomic<Bool>(false)

    /// Whether stderr is the journal, read once at start.
    static let stderrIsJournal = Journal.isStandardErrorJournal(journalStream: ProcessInfo.processInfo.environment["JOURNAL_STREAM"])

    private let label: String
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// Creates a handler.
    /// - Parameter label: the logger's label.
    public init(label: String) {
        self.label = label
    }

    /// A level set on this logger alone (a library quieting its own logger); nil follows the shared level.
    private var ownLevel: Logger.Level?

    public var logLevel: Logger.Level {
        get { ownLevel ?? Logger.Level.allCases.first { $0.rank == Self.sharedLevel.load(ordering: .relaxed) } ?? .info }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let sorted = all.sorted(by: { $0.key < $1.key })
        var text = "\(event.message)"
        for (key, value) in sorted {
            text += " \(key)=\(Self.quoted("\(value)"))"
        }
        let line = "\(event.level.rawValue.uppercased()) \(text)\n"
        guard Self.stderrIsJournal else {
            let time = Self.timestamp()
            if Self.writesJSON.load(ordering: .relaxed) {
                var object = "{\"time\":\"\(time)\",\"level\":\"\(event.level.rawValue)\",\"message\":\(Self.jsonString("\(event.message)"))"
                object += ",\"logger\":\(Self.jsonString(label))"
                for (key, value) in sorted where !["time", "level", "message", "logger"].contains(key) {
                    object += ",\(Self.jsonString(key)):\(Self.jsonString("\(value)"))"
                }
                FileHandle.standardError.write(Data((object + "}\n").utf8))
            } else {
                FileHandle.standardError.write(Data("\(time) \(line)".utf8))
            }
            return
        }
        let priority = Journal.priority(of: event.level)
        var fields: [(name: String, value: String)] = [
            ("MESSAGE", text),
            ("PRIORITY", "\(priority)"),
            ("SYSLOG_IDENTIFIER", "slotgated"),
            ("LOGGER", label),
            ("CODE_FILE", event.file),
            ("CODE_LINE", "\(event.line)"),
            ("CODE_FUNC", event.function),
        ]
        for (key, value) in sorted {
            if let name = Journal.fieldName(forMetadataKey: key) { fields.append((name, "\(value)")) }
        }
        if Journal.send(fields) == 0 { return }
        FileHandle.standardError.write(Data("<\(priority)>\(line)".utf8))
    }

    /// Now as RFC 3339 in UTC with milliseconds: `2026-12-05T14:03:07.412Z`.
    static func timestamp() -> String {
        // Date rather than clock_gettime: with --static-swift-stdlib (make deb) `timespec` comes from CDispatch,
        // which MemberImportVisibility refuses without an import of it.
        let now = Date().timeIntervalSince1970
        let whole = now.rounded(.down)
        var seconds = time_t(whole)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let milliseconds = min(999, max(0, Int((now - whole) * 1000)))
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let fraction = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):"
            + "\(two(parts.tm_sec)).\(fraction)Z"
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    private static func quoted(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == "\"" }) ? "\"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"" : text
    }
}

extension Logger.Level {
    var rank: Int {
        switch self {
        case .trace: 0
        case .debug: 1
        case .info: 2
        case .notice: 3
        case .warning: 4
        case .error: 5
        case .critical: 6
        }
    }
}
