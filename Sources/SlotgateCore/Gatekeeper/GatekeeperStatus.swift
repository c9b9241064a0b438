//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What `/v1/status` reports, read from the state machine at one instant.
public struct GatekeeperStatus: Sendable, Hashable {
    /// The newest platform reading, if any.
    public var quota: QuotaReading?
    /// Age of the newest reading (from when its first request was sent).
    public var quotaAge: Duration?
    /// Whether the newest reading is fresh and the last poll succeeded.
    public var upstreamHealthy: Bool
    /// The last poll failure, if the newest poll failed.
    public var lastError: String?
    /// Whether the newest reading did without the session list, which the platform refused (status reads of
    /// tracked sessions stand in for it).
    public var sessionListRefused = false
    /// The newest token reading.
    public var tokens: TokenReading?
    /// Age of the newest token reading.
    public var tokensAge: Duration?
    /// Why grants are paused, if they are.
    public var pausedBy: PauseReason?
    /// The slot count.
    public var slots: SlotCount
    /// Waiting requests.
    public var waiting: Int
    /// How long the oldest waiter has waited.
    public var oldestWait: Duration
    /// Grants since start.
    public var grantsTotal: Int
    /// Creates refused with 429 anyway since start.
    public var rejected429Total: Int
    /// The polling pace in force.
    public var pace: PollingPace
    /// The fleet, in shared mode; nil in local mode.
    public var fleet: FleetStatus? = nil

    /// Reads the status.
    /// - Parameters:
    ///   - machine: the state machine.
    ///   - now: the current time.
    public init(machine: GatekeeperStateMachine, now: Timestamp) {
        let snapshot = machine.snapshot
        quota = snapshot?.quota
        quotaAge = snapshot.map { $0.sentAt.duration(to: now) }
        pausedBy = machine.pause(at: now)
        upstreamHealthy = snapshot != nil && machine.lastPollFailure == nil && (quotaAge ?? .zero) <= machine.settings.maxStaleness
        lastError = machine.lastPollFailure
        sessionListRefused = machine.sessionListRefused
        tokens = machine.tokens
        tokensAge = machine.tokens.map { $0.sentAt.duration(to: now) }
        slots = machine.count(at: now)
        waiting = machine.waitingCount
        oldestWait = machine.oldestWaiterRequest.map { $0.duration(to: now) } ?? .zero
        grantsTotal = machine.grantsTotal
        rejected429Total = machine.rejected429Total
        pace = machine.pollingPace
    }
}

/// The fleet part of `/v1/status` in shared mode (design.md "Shared mode").
public struct FleetStatus: Sendable, Hashable {
    /// One host of the fleet, as the database knows it.
    public struct Host: Sendable, Hashable {
        /// Its `shared.host_id`.
        public var hostID: String
        /// Its leases holding slots.
        public var held: Int
        /// Its waiting requests.
        public var waiting: Int
        /// How long ago it last wrote its heartbeat.
        public var seenAgo: Duration

        /// Creates a host entry.
        /// - Parameters:
        ///   - hostID: the host's id.
        ///   - held: its leases holding slots.
        ///   - waiting: its waiting requests.
        ///   - seenAgo: the age of its heartbeat.
        public init(hostID: String, held: Int, waiting: Int, seenAgo: Duration) {
            self.hostID = hostID
            self.held = held
            self.waiting = waiting
            self.seenAgo = seenAgo
        }
    }

    /// This host's id.
    public var hostID: String
    /// The host that polls the platform for the fleet, if one does.
    public var poller: String?
    /// Whether the database answers.
    public var databaseReachable: Bool
    /// Slots this host holds from its `shared.fallback_share` while the database is away.
    public var fallbackInUse: Int
    /// Every host with a recent heartbeat or a lease.
    public var hosts: [Host]

    /// Creates a fleet status.
    /// - Parameters:
    ///   - hostID: this host's id.
    ///   - poller: the polling host.
    ///   - databaseReachable: whether the database answers.
    ///   - fallbackInUse: fallback slots in use here.
    ///   - hosts: the fleet's hosts.
    public init(hostID: String, poller: String?, databaseReachable: Bool, fallbackInUse: Int, hosts: [Host]) {
        self.hostID = hostID
        self.poller = poller
        self.databaseReachable = databaseReachable
        self.fallbackInUse = fallbackInUse
        self.hosts = hosts
    }
}
