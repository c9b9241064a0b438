//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

/// Notices on the wire: one line each, tab-separated fields, the first line naming the sender. A payload stays
/// under PostgreSQL's 8000-byte limit; more notices go in more payloads.
enum FleetNoticeCoding {
    static let maxPayload = 7000

    static func payloads(_ notices: [FleetNotice], from host: String) -> [String] {
        guard !notices.isEmpty else { return [] }
        let header = "S\t\(host)"
        var payloads: [String] = []
        var current = header
        for notice in notices {
            let line = encode(notice)
            if current.utf8.count + line.utf8.count + 1 > maxPayload, current != header {
                payloads.append(current)
                current = header
            }
            current += "\n" + line
        }
        payloads.append(current)
        return payloads
    }

    static func encode(_ notice: FleetNotice) -> String {
        switch notice {
        case .granted(let host, let id): "G\t\(host)\t\(id.rawValue)"
        case .failed(let host, let id, let error): "F\t\(host)\t\(id.rawValue)\t\(error.code)"
        case .work(.pollNow): "W\tpoll"
        case .work(.paceChanged): "W\tpace"
        case .work(.confirmSession(let session)): "W\tconfirm\t\(session)"
        case .work(.cancelSession(let session)): "W\tcancel\t\(session)"
        case .changed: "C"
        }
    }

    /// The sender and its notices; unreadable lines are skipped.
    static func decode(_ payload: String) -> (sender: String, notices: [FleetNotice])? {
        var lines = payload.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        }
        guard let first = lines.first, first.count == 2, first[0] == "S" else { return nil }
        lines.removeFirst()
        var notices: [FleetNotice] = []
        for fields in lines {
            switch (fields.first, fields.count) {
            case ("G", 3):
                if let id = LeaseID(rawValue: fields[2]) { notices.append(.granted(host: fields[1], id)) }
            case ("F", 4):
                if let id = LeaseID(rawValue: fields[2]) {
                    notices.append(.failed(host: fields[1], id, GatekeeperError(code: fields[3]) ?? .waitTimeout))
                }
            case ("W", 2):
                notices.append(.work(fields[1] == "pace" ? .paceChanged : .pollNow))
            case ("W", 3):
                notices.append(.work(fields[1] == "cancel" ? .cancelSession(fields[2]) : .confirmSession(fields[2])))
            case ("C", 1):
                notices.append(.changed)
            default:
                continue
            }
        }
        return (first[1], notices)
    }
}
