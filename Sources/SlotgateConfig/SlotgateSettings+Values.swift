//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import SlotgateCore

// Every key as text, both ways. Each switch covers every key, so a new key cannot be forgotten in one of
// them; rendering a value and parsing it back gives the same value (the defaults layer relies on it).
extension SlotgateSettings {
    /// Parses one key's text and stores it.
    mutating func assign(_ text: String, to id: SettingKey.ID) throws(ValueProblem) {
        switch id {
        case .upstreamURL: upstreamURL = try ValueParser.httpURL(text)
        case .pollInterval: pollInterval = try ValueParser.seconds(text, above: 0, atMost: 3600)
        case .idlePollInterval: idlePollInterval = try ValueParser.seconds(text, above: 0, atMost: 86_400)
        case .upstreamTimeout: upstreamTimeout = try ValueParser.seconds(text, above: 0, atMost: 3600)
        case .maxStaleness: maxStaleness = try ValueParser.seconds(text, above: 0, atMost: 7 * 86_400)
        case .simulate: simulate = try ValueParser.bool(text)
        case .simulateLimit: simulateLimit = try ValueParser.wholeNumber(text, atLeast: 1, atMost: 100_000)
        case .simulateRun: simulateRun = try ValueParser.secondsRange(text, above: 0, atMost: 86_400)
        case .socketPath: socketPath = try ValueParser.path(text, maxBytes: 107)
        case .socketMode: socketMode = try ValueParser.fileMode(text)
        case .socketGroup: socketGroup = text.isEmpty ? nil : try ValueParser.name(text, maxLength: 32, extraRule: ", or empty")
        case .proxyAllow: proxyAllow = try ValueParser.routePatterns(text)
        case .sessionScope: sessionScope = try ValueParser.sessionScope(text)
        case .socketAdminGroup:
            socketAdminGroup = text.isEmpty ? nil : try ValueParser.name(text, maxLength: 32, extraRule: ", or empty")
        case .slotsMax: slotsMax = ["", "none"].contains(text.lowercased()) ? nil : try ValueParser.wholeNumber(text, atLeast: 1)
        case .slotsReserve: slotsReserve = try ValueParser.wholeNumber(text, atLeast: 0)
        case .claimTTL: claimTTL = try ValueParser.seconds(text, from: 1, to: 3600)
        case .leaseRetention: leaseRetention = try ValueParser.hours(text, atLeastSeconds: 600, atMost: 8760)
        case .defaultWait: defaultWait = try ValueParser.seconds(text, from: 0, to: 86_400)
        case .maxWaiters: maxWaiters = try ValueParser.wholeNumber(text, atLeast: 1)
        case .maxPerHolder: maxPerHolder = try ValueParser.wholeNumber(text, atLeast: 0)
        case .maxConnections: maxConnections = try ValueParser.wholeNumber(text, atLeast: 1)
        case .maxPerUID: maxPerUID = try ValueParser.wholeNumber(text, atLeast: 0)
        case .maxConnectionsPerUID:
            maxConnectionsPerUID = ["", "auto"].contains(text.lowercased()) ? nil : try ValueParser.wholeNumber(text, atLeast: 1)
        case .tokensMinRemaining: tokensMinRemaining = try ValueParser.wholeNumber(text, atLeast: 0)
        case .stateDirectory: stateDirectory = try ValueParser.path(text)
        case .stateFsync: stateFsync = try ValueParser.bool(text)
        case .postgresURL: postgresURL = try ValueParser.postgresURL(text)
        case .fallbackShare: fallbackShare = try ValueParser.wholeNumber(text, atLeast: 0)
        case .hostID: hostID = try ValueParser.name(text, maxLength: 128)
        case .metricsListen: metricsListen = try ValueParser.listenAddress(text)
        case .logLevel: logLevel = try ValueParser.logLevel(text)
        case .logFormat:
            guard let format = LogFormat(rawValue: text.lowercased()) else { throw ValueProblem("must be text or json") }
            logFormat = format
        }
    }

    /// One key's value as text that ``assign(_:to:)`` reads back. Not redacted.
    func text(of id: SettingKey.ID) -> String {
        switch id {
        case .upstreamURL: upstreamURL.absoluteString
        case .pollInterval: ValueParser.render(seconds: pollInterval)
        case .idlePollInterval: ValueParser.render(seconds: idlePollInterval)
        case .upstreamTimeout: ValueParser.render(seconds: upstreamTimeout)
        case .maxStaleness: ValueParser.render(seconds: maxStaleness)
        case .simulate: String(simulate)
        case .simulateLimit: String(simulateLimit)
        case .simulateRun: ValueParser.render(secondsRange: simulateRun)
        case .socketPath: socketPath
        case .socketMode: "0" + String(socketMode, radix: 8)
        case .socketGroup: socketGroup ?? ""
        case .socketAdminGroup: socketAdminGroup ?? ""
        case .proxyAllow: proxyAllow.map(\.description).joined(separator: ", ")
        case .slotsMax: slotsMax.map(String.init) ?? ""
        case .slotsReserve: String(slotsReserve)
        case .claimTTL: ValueParser.render(seconds: claimTTL)
        case .leaseRetention: ValueParser.render(hours: leaseRetention)
        case .defaultWait: ValueParser.render(seconds: defaultWait)
        case .maxWaiters: String(maxWaiters)
        case .maxPerHolder: String(maxPerHolder)
        case .maxConnections: String(maxConnections)
        case .maxPerUID: String(maxPerUID)
        case .sessionScope: sessionScope.rawValue
        case .maxConnectionsPerUID: maxConnectionsPerUID.map(String.init) ?? ""
        case .tokensMinRemaining: String(tokensMinRemaining)
        case .stateDirectory: stateDirectory
        case .stateFsync: String(stateFsync)
        case .postgresURL: postgresURL ?? ""
        case .fallbackShare: String(fallbackShare)
        case .hostID: hostID
        case .metricsListen: metricsListen?.description ?? ""
        case .logLevel: logLevel.rawValue
        case .logFormat: logFormat.rawValue
        }
    }

    /// Copies one key's value from other settings.
    mutating func copy(_ id: SettingKey.ID, from other: SlotgateSettings) {
        switch id {
        case .upstreamURL: upstreamURL = other.upstreamURL
        case .pollInterval: pollInterval = other.pollInterval
        case .idlePollInterval: idlePollInterval = other.idlePollInterval
        case .upstreamTimeout: upstreamTimeout = other.upstreamTimeout
        case .maxStaleness: maxStaleness = other.maxStaleness
        case .simulate: simulate = other.simulate
        case .simulateLimit: simulateLimit = other.simulateLimit
        case .simulateRun: simulateRun = other.simulateRun
        case .socketPath: socketPath = other.socketPath
        case .socketMode: socketMode = other.socketMode
        case .socketGroup: socketGroup = other.socketGroup
        case .socketAdminGroup: socketAdminGroup = other.socketAdminGroup
        case .proxyAllow: proxyAllow = other.proxyAllow
        case .slotsMax: slotsMax = other.slotsMax
        case .slotsReserve: slotsReserve = other.slotsReserve
        case .claimTTL: claimTTL = other.claimTTL
        case .leaseRetention: leaseRetention = other.leaseRetention
        case .defaultWait: defaultWait = other.defaultWait
        case .maxWaiters: maxWaiters = other.maxWaiters
        case .maxPerHolder: maxPerHolder = other.maxPerHolder
        case .maxConnections: maxConnections = other.maxConnections
        case .maxPerUID: maxPerUID = other.maxPerUID
        case .sessionScope: sessionScope = other.sessionScope
        case .maxConnectionsPerUID: maxConnectionsPerUID = other.maxConnectionsPerUID
        case .tokensMinRemaining: tokensMinRemaining = other.tokensMinRemaining
        case .stateDirectory: stateDirectory = other.stateDirectory
        case .stateFsync: stateFsync = other.stateFsync
        case .postgresURL: postgresURL = other.postgresURL
        case .fallbackShare: fallbackShare = other.fallbackShare
        case .hostID: hostID = other.hostID
        case .metricsListen: metricsListen = other.metricsListen
        case .logLevel: logLevel = other.logLevel
        case .logFormat: logFormat = other.logFormat
        }
    }

    /// The rules that tie keys together. Returns the key to blame and the problem, or nil when all hold.
    func inconsistency() -> (key: SettingKey.ID, problem: ValueProblem)? {
        if idlePollInterval < pollInterval {
            return (.idlePollInterval, ValueProblem("must be at least upstream.poll_interval_s (\(text(of: .pollInterval)))"))
        }
        if maxStaleness <= idlePollInterval {
            return (.maxStaleness, ValueProblem("must be greater than upstream.idle_poll_interval_s (\(text(of: .idlePollInterval)))"))
        }
        if let slotsMax, slotsReserve >= slotsMax {
            return (.slotsReserve, ValueProblem("must be below slots.max (\(slotsMax))"))
        }
        return nil
    }

    /// One key's value for people: as ``text(of:)``, with the credentials of a sensitive URL redacted and
    /// `none`/`off` for empty values.
    func displayText(of id: SettingKey.ID) -> String {
        let raw = text(of: id)
        switch id {
        case .postgresURL: return raw.isEmpty ? "none" : Self.redactedURL(raw)
        case .upstreamURL: return Self.redactedURL(raw)
        case .slotsMax: return raw.isEmpty ? "none" : raw
        case .maxConnectionsPerUID: return raw.isEmpty ? "auto" : raw
        case .metricsListen: return raw.isEmpty ? "off" : raw
        case .socketGroup: return raw.isEmpty ? "(daemon's group)" : raw
        case .socketAdminGroup: return raw.isEmpty ? "(root only)" : raw
        case .proxyAllow: return raw.isEmpty ? "(nothing)" : raw
        default: return raw
        }
    }

    /// `upstream.url` for people: credentials in it redacted.
    public var upstreamURLText: String { displayText(of: .upstreamURL) }

    /// `scheme://host:port/path`, with `<redacted>@` when the URL had user information and no query.
    static func redactedURL(_ text: String) -> String {
        guard let url = URL(string: text), let scheme = url.scheme, let host = url.host else { return "<redacted>" }
        let credentials = url.user != nil || url.password != nil ? "<redacted>@" : ""
        let port = url.port.map { ":\($0)" } ?? ""
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let query = url.query == nil ? "" : "?<redacted>"
        return "\(scheme)://\(credentials)\(hostPart)\(port)\(url.path)\(query)"
    }
}
