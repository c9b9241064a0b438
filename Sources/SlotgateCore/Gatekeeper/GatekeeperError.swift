//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The one error type of the core. Each has a stable snake_case `code` (socket-api.md "Errors");
/// the HTTP status is chosen in one place, by the server.
public struct GatekeeperError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Sendable, Hashable {
        case leaseNotFound(String)
        case leaseConflict(String, String)
        case waitTimeout
        case upstreamUnavailable
        case queueFull(String)
        case tokenBudgetExhausted
        case shuttingDown
        case badRequest(String)
        case stateUnwritable
    }

    private let kind: Kind

    private init(_ kind: Kind) { self.kind = kind }

    /// No lease has this id (or it was forgotten).
    public static func leaseNotFound(_ id: String) -> Self { .init(.leaseNotFound(id)) }
    /// The transition is illegal in the lease's state.
    public static func leaseConflict(_ id: LeaseID, _ reason: String) -> Self { .init(.leaseConflict(id.rawValue, reason)) }
    /// No slot within the requested wait.
    public static let waitTimeout = Self(.waitTimeout)
    /// A try-once request while grants are paused for lack of a fresh platform reading.
    public static let upstreamUnavailable = Self(.upstreamUnavailable)
    /// Too many waiters, globally or for this holder.
    public static func queueFull(_ reason: String) -> Self { .init(.queueFull(reason)) }
    /// A try-once request while grants are paused for the token allowance.
    public static let tokenBudgetExhausted = Self(.tokenBudgetExhausted)
    /// The daemon is stopping.
    public static let shuttingDown = Self(.shuttingDown)
    /// The ledger cannot be written (read-only or full state directory): nothing is granted unwritten.
    public static let stateUnwritable = Self(.stateUnwritable)
    /// A request field is out of range; the message names it.
    public static func badRequest(_ message: String) -> Self { .init(.badRequest(message)) }

    /// The error with this code among those that carry nothing else (a fleet's notices carry errors by code).
    /// - Parameter code: the code.
    public init?(code: String) {
        let known: [Self] = [.waitTimeout, .upstreamUnavailable, .tokenBudgetExhausted, .shuttingDown, .stateUnwritable]
        guard let match = known.first(where: { $0.code == code }) else { return nil }
        self = match
    }

    /// The stable machine-readable code.
    public var code: String {
        switch kind {
        case .leaseNotFound: "lease_not_found"
        case .leaseConflict: "lease_conflict"
        case .waitTimeout: "wait_timeout"
        case .upstreamUnavailable: "upstream_unavailable"
        case .queueFull: "queue_full"
        case .tokenBudgetExhausted: "token_budget_exhausted"
        case .shuttingDown: "shutting_down"
        case .badRequest: "bad_request"
        case .stateUnwritable: "state_unwritable"
        }
    }

    /// One human sentence.
    public var message: String {
        switch kind {
        case .leaseNotFound(let id): "No lease \(id) is known."
        case .leaseConflict(let id, let reason): "Lease \(id) conflicts: \(reason)."
        case .waitTimeout: "No slot became free within the requested wait."
        case .upstreamUnavailable: "Grants are paused: the daemon has no fresh reading of the platform's quota."
        case .queueFull(let reason): "The queue is full: \(reason)."
        case .tokenBudgetExhausted: "Grants are paused: the organization's token allowance is below tokens.min_remaining."
        case .shuttingDown: "The daemon is shutting down."
        case .badRequest(let message): message
        case .stateUnwritable: "The daemon cannot write its lease ledger (state.dir read-only or full); no grant is answered unwritten."
        }
    }

    public var description: String { "\(code): \(message)" }
}
