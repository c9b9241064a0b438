//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A platform session's status (agp-api.md §3). Unknown values are kept, and treated as holding a slot.
public enum SessionStatus: Sendable, Hashable, CustomStringConvertible {
    /// Accepted at the limit, waiting unprovisioned for a slot.
    case queued
    /// Created; the agent is starting.
    case pending
    /// The agent is working.
    case running
    /// Paused through the API; still holds its slot.
    case paused
    /// Answered and waiting for the next message; still holds its slot.
    case idle
    /// Waiting for the client's tool results.
    case awaitingToolResults
    /// Finished successfully.
    case completed
    /// Ended with an unrecoverable error.
    case failed
    /// Exceeded its allowed time.
    case timedOut
    /// Cancelled.
    case interrupted
    /// A status this version does not know; treated as non-terminal.
    case unknown(String)

    /// Reads a status from the platform's wire value.
    /// - Parameter rawValue: the `status` string.
    public init(rawValue: String) {
        switch rawValue {
        case "queued": self = .queued
        case "pending": self = .pending
        case "running": self = .running
        case "paused": self = .paused
        case "idle": self = .idle
        case "awaiting_tool_results": self = .awaitingToolResults
        case "completed": self = .completed
        case "failed": self = .failed
        case "timed_out": self = .timedOut
        case "interrupted": self = .interrupted
        default: self = .unknown(rawValue)
        }
    }

    /// The wire value.
    public var rawValue: String {
        switch self {
        case .queued: "queued"
        case .pending: "pending"
        case .running: "running"
        case .paused: "paused"
        case .idle: "idle"
        case .awaitingToolResults: "awaiting_tool_results"
        case .completed: "completed"
        case .failed: "failed"
        case .timedOut: "timed_out"
        case .interrupted: "interrupted"
        case .unknown(let value): value
        }
    }

    /// Whether the session has ended and freed its slot: exactly completed, failed, timed_out, interrupted.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .timedOut, .interrupted: true
        default: false
        }
    }

    /// The statuses slotgate lists as non-terminal, `queued` included (U2: counted as occupied).
    public static let nonTerminal: [SessionStatus] = [.queued, .pending, .running, .paused, .idle, .awaitingToolResults]

    public var description: String { rawValue }
}
