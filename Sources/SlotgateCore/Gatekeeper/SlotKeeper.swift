//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// What the local API asks of a gatekeeper: the single-host ``Gatekeeper``, or a fleet's member in shared mode.
/// Every method has the meaning `Gatekeeper`'s documents.
public protocol SlotKeeper: Actor, PlatformObserver {
    /// Takes a slot, waiting if needed; cancelling the calling task withdraws the request.
    func acquire(_ request: AcquireRequest) async -> Result<Lease, GatekeeperError>
    /// Queues a request and returns its id at once.
    func submit(_ request: AcquireRequest) async -> LeaseID
    /// Queues a request and hands its outcome to `whenDecided` (on the actor) instead of a waiting task.
    func submit(_ request: AcquireRequest, whenDecided: @escaping @Sendable (Result<Lease, GatekeeperError>) -> Void) async -> LeaseID
    /// Withdraws a request queued with `submit(_:whenDecided:)` whose client went away.
    func withdraw(request id: LeaseID) async
    /// Waits for the outcome of a request queued with `submit`.
    func outcome(of id: LeaseID) async -> Result<Lease, GatekeeperError>
    /// A granted lease whose answer could not be delivered.
    func undeliverable(_ id: LeaseID) async
    /// Binds a granted lease to its session.
    func bind(_ id: LeaseID, to session: String) async throws(GatekeeperError) -> Lease
    /// Renews a granted lease.
    func renew(_ id: LeaseID) async throws(GatekeeperError) -> Lease
    /// Releases a lease.
    func release(_ id: LeaseID, cancelSession: Bool) async throws(GatekeeperError) -> Lease
    /// Answers at once when the actor is not stuck.
    func ping() -> Bool
    /// Marks a granted lease as sending a create; it holds its slot until the create's outcome settles it.
    func beginCreate(_ id: LeaseID) async throws(GatekeeperError) -> Lease
    /// Records the outcome of a create made with a granted lease.
    func createOutcome(_ id: LeaseID, _ outcome: GatekeeperStateMachine.CreateOutcome) async throws(GatekeeperError) -> Lease
    /// The platform answered 429 to a forwarded request other than a create: no grant until a fresh reading.
    func platformRefused() async
    /// Waits for a lease sent back to the queue to be granted again.
    func awaitRequeued(_ id: LeaseID) async -> Result<Lease, GatekeeperError>
    /// A lease by id.
    func lease(_ id: LeaseID) async -> Lease?
    /// The uids that created these sessions through leases of this host (`proxy.session_scope: uid`).
    func sessionOwners(_ sessions: some Sequence<String> & Sendable) async -> [String: UInt32]
    /// The retained leases and the waiters in grant order.
    func listing() async -> (leases: [Lease], waiters: [WaitQueue.Waiter])
    /// A waiting request's position, the number waiting and its estimated wait.
    func position(of id: LeaseID) async -> WaitPosition?
    /// Waits until the queue changes after `version`.
    func queueChange(after version: UInt64) async -> UInt64
    /// The current queue version.
    var currentQueueVersion: UInt64 { get }
    /// The state for `/v1/status`.
    func status() async -> GatekeeperStatus
    /// Applies new settings.
    func configure(_ settings: GatekeeperSettings) async
    /// Sets the watchdog heartbeat.
    func setHeartbeat(interval: Duration, beat: @escaping @Sendable () -> Void)
}

extension Gatekeeper: SlotKeeper {}

extension SlotKeeper {
    /// Releases a lease without cancelling its session.
    /// - Parameter id: the lease id.
    public func release(_ id: LeaseID) async throws(GatekeeperError) -> Lease {
        try await release(id, cancelSession: false)
    }
}

/// Where a waiting request stands.
public struct WaitPosition: Sendable, Hashable {
    /// Its place in grant order, 1-based.
    public var position: Int
    /// The number waiting.
    public var waiting: Int
    /// The estimated time until its grant (``WaitEstimator``); nil when there is no history.
    public var eta: Duration?

    /// Creates a position.
    /// - Parameters:
    ///   - position: its place in grant order.
    ///   - waiting: the number waiting.
    ///   - eta: the estimated wait.
    public init(position: Int, waiting: Int, eta: Duration?) {
        self.position = position
        self.waiting = waiting
        self.eta = eta
    }
}
