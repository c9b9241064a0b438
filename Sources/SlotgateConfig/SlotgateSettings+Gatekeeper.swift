//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore

extension SlotgateSettings {
    /// The part of the settings the core reads.
    public var gatekeeper: GatekeeperSettings {
        var settings = GatekeeperSettings()
        settings.claimTTL = claimTTL
        settings.defaultWait = defaultWait
        settings.maxWaiters = maxWaiters
        settings.maxPerHolder = maxPerHolder
        settings.maxPerUID = maxPerUID
        settings.slotsMax = slotsMax
        settings.reserve = slotsReserve
        settings.maxStaleness = maxStaleness
        settings.fastPollInterval = pollInterval
        settings.tokensMinRemaining = tokensMinRemaining
        settings.endedRetention = leaseRetention
        return settings
    }
}

extension SlotgateSettings {
    /// `socket.max_connections_per_uid` as it applies: the value set, or when it is `auto` a quarter of the smaller
    /// of `queue.max_connections` and the daemon's open-file limit (4,096 with the defaults and the unit's
    /// `LimitNOFILE=65536`), so that one local user cannot take more than a quarter of what the daemon can serve.
    /// - Parameter openFileLimit: the soft `RLIMIT_NOFILE`, or nil when unknown.
    public func connectionsPerUID(openFileLimit: Int?) -> Int {
        if let maxConnectionsPerUID { return maxConnectionsPerUID }
        return max(1, min(maxConnections, openFileLimit ?? maxConnections) / 4)
    }
}
