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

/// The daemon's log output on stderr: one line per event with its metadata as `key=value`. The level is shared by
/// every logger and can change at run time (a reload of `log.level`).
///
/// When stderr is the journal (`JOURNAL_STREAM` names it), each event goes to journald as a structured entry
/// instead: `MESSAGE` (the line without its level), `PRIORITY`, `SYSLOG_IDENTIFIER=slotgated`, the code location
/// and one field per metadata key (`lease_id` → `LEASE_ID`). If journald refuses the entry, the line is written to
/// stderr with a `<N>` priority prefix, which journald's stream reader also understands.
public struct DaemonLogHandler: LogHandler {
    /// The level every daemon logger follows.
    public static let sharedLevel = Atomic<Int>(Logger.Level.info.rank)

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
            FileHandle.standardError.write(Data(line.utf8))
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
