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
    /// The waiters of each priority, highest first, with estimated waits; filled by the gatekeeper from the forecast it
    /// keeps for streamed waits (``PriorityWait/levels(_:now:)``), not by `init`.
    public var priorities: [PriorityWait] = []
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

/// The waiters of one priority in `/v1/status`, with the estimated waits (``WaitEstimator``) of the first and the
/// last of them in grant order.
public struct PriorityWait: Sendable, Hashable {
    /// The priority.
    public var priority: Int
    /// Its waiters.
    public var waiting: Int
    /// The estimated wait of its first waiter in grant order; nil when there is no history.
    public var nextETA: Duration?
    /// The estimated wait of its last waiter; nil when there is no history.
    public var lastETA: Duration?

    /// Creates a level.
    /// - Parameters:
    ///   - priority: the priority.
    ///   - waiting: its waiters.
    ///   - nextETA: its first waiter's estimated wait.
    ///   - lastETA: its last waiter's estimated wait.
    public init(priority: Int, waiting: Int, nextETA: Duration?, lastETA: Duration?) {
        self.priority = priority
        self.waiting = waiting
        self.nextETA = nextETA
        self.lastETA = lastETA
    }

    /// Groups a forecast (in grant order: highest priority first) by priority, in one pass.
    /// - Parameters:
    ///   - forecast: the waiters' priorities in grant order with their estimated grant times.
    ///   - now: the current time.
    public static func levels(_ forecast: [(priority: Int, grantAt: Timestamp?)], now: Timestamp) -> [PriorityWait] {
        var levels: [PriorityWait] = []
        for (priority, grantAt) in forecast {
            let eta = grantAt.map { max(.zero, now.duration(to: $0)) }
            if let last = levels.indices.last, levels[last].priority == priority {
                levels[last].waiting += 1
                levels[last].lastETA = eta
            } else {
                levels.append(PriorityWait(priority: priority, waiting: 1, nextETA: eta, lastETA: eta))
            }
        }
        return levels
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
