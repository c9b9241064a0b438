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
        settings.slotsMax = slotsMax
        settings.reserve = slotsReserve
        settings.maxStaleness = maxStaleness
        settings.fastPollInterval = pollInterval
        settings.tokensMinRemaining = tokensMinRemaining
        settings.endedRetention = leaseRetention
        return settings
    }
}
