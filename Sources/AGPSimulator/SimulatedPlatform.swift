//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// A faithful fake of the agent platform (agp-api.md §11): sessions, limit, idempotency, quota and faults.
///
/// Serve it with ``SimulatorServer``; drive it from tests directly or through the `/_sim` control routes.
/// All decisions are made by a pure model evaluated at the time of each call, so a test can pass its own
/// clock and move time by hand.
///
/// ```swift
/// let platform = SimulatedPlatform(configuration: .init())
/// try await SimulatorServer.withRunning(platform) { baseURL in
///     // point the client at baseURL
/// }
/// #expect(await platform.stats().createsRefused == 0)
/// ```
public actor SimulatedPlatform {
    private var model: PlatformModel
    private let clock: @Sendable () -> Date
    /// Accepted Bearer keys; empty turns auth off. Fixed at creation.
    nonisolated let apiKeys: Set<String>
    /// Resources served in parts, for pass-through tests (``ResourceShelf``).
    nonisolated let resources = ResourceShelf()

    /// Creates a platform on the wall clock.
    /// - Parameter configuration: limits, timings and switches.
    public init(configuration: SimulatorConfiguration) {
        self.init(configuration: configuration, clock: { Date() })
    }

    /// Creates a platform that reads the time from `clock`, so tests can move time by hand.
    /// - Parameters:
    ///   - configuration: limits, timings and switches.
    ///   - clock: returns the current time; called once per event.
    public init(configuration: SimulatorConfiguration, clock: @escaping @Sendable () -> Date) {
        self.model = PlatformModel(configuration: configuration)
        self.clock = clock
        self.apiKeys = configuration.apiKeys
    }

    /// What the simulator saw so far.
    public func stats() -> SimulatorStats {
        self.model.snapshot(at: self.clock())
    }

    /// Changes the limit at run time (a live limit change); raising it starts queued sessions.
    /// - Parameter limit: the new limit.
    public func setLimit(_ limit: Int) {
        self.model.setLimit(limit, at: self.clock())
    }

    /// Replaces the pending faults.
    /// - Parameter faults: the faults to inject from the next request on.
    public func setFaults(_ faults: SimulatorFaults) {
        self.model.faults = faults
    }

    /// The faults not consumed yet.
    public func currentFaults() -> SimulatorFaults {
        self.model.faults
    }

    /// Creates a session "behind the daemon's back": owned by another user of the organization, taking a
    /// slot in org scope, created even at the limit.
    /// - Parameter runDuration: how long it runs once started; nil draws it from the configuration.
    /// - Returns: the session id.
    @discardableResult
    public func createExternalSession(runDuration: Duration? = nil) -> String {
        self.model.createExternal(runDuration: runDuration, at: self.clock())
    }

    /// Forces a session into `status`: a terminal status ends it now, a non-terminal one (`idle`, `paused`, ...)
    /// holds it there until told otherwise.
    /// - Parameters:
    ///   - id: the session id.
    ///   - status: the status to set.
    /// - Returns: false when the id is unknown.
    @discardableResult
    public func finishSession(_ id: String, status: String) -> Bool {
        self.model.finish(id, status: status, at: self.clock())
    }

    /// Replaces the token figures of `/quota/tokens`.
    /// - Parameters:
    ///   - limit: tokens allowed this period; nil for unlimited.
    ///   - used: tokens used; nil for unknown.
    public func setTokens(limit: Int?, used: Int?) {
        self.model.setTokens(limit: limit, used: used)
    }

    /// The status of a session now, or nil for an unknown id.
    /// - Parameter id: the session id.
    public func status(of id: String) -> String? {
        let now = self.clock()
        self.model.advance(to: now)
        return self.model.session(id)?.status(at: now)
    }

    // MARK: Used by the routes

    func admit(route: String) -> PlatformModel.Admission {
        self.model.admit(route: route)
    }

    func validateCreate(_ body: [UInt8]) -> Result<JSONValue, ValidationFailure> {
        self.model.validateCreate(body)
    }

    func beginCreate(key: String?, body: [UInt8]) -> APIReply? {
        self.model.beginCreate(key: key, body: body, at: self.clock())
    }

    func abandonCreate(key: String?) {
        self.model.abandonCreate(key: key)
    }

    func completeCreate(key: String?, body: [UInt8], request: JSONValue, caller: String) -> APIReply {
        self.model.completeCreate(key: key, body: body, request: request, caller: caller, at: self.clock())
    }

    /// Runs one model event at the current time.
    func perform(_ event: @Sendable (inout PlatformModel, Date) -> APIReply) -> APIReply {
        event(&self.model, self.clock())
    }
}
