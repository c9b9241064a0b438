//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The lease state machine. Each method is one transition; an illegal one throws and leaves the lease unchanged.
///
/// ```
/// waiting ─grant→ granted ─bind→ bound ─release→ draining ─terminal→ released
///                  │  ↑requeue    └──────terminal───────────────────→ released
///                  ├─release→ released
///                  └─expire→ expired
/// ```
extension Lease {
    /// waiting → granted.
    /// - Parameter now: the grant time; the lease expires one claim TTL later.
    public mutating func grant(at now: Timestamp) throws(GatekeeperError) {
        guard state == .waiting else { throw .leaseConflict(id, "a \(state.rawValue) lease cannot be granted") }
        state = .granted
        grantedAt = now
        expiresAt = now.advanced(by: claimTTL)
    }

    /// granted → waiting, for a create the platform refused with 429: the request goes back to the head of the queue.
    public mutating func requeue() throws(GatekeeperError) {
        guard state == .granted else { throw .leaseConflict(id, "a \(state.rawValue) lease cannot go back to the queue") }
        state = .waiting
        grantedAt = nil
        expiresAt = nil
        createInDoubtSince = nil
    }

    /// granted → bound; binding the same session again is a no-op, another session is a conflict.
    /// - Parameters:
    ///   - session: the platform session id.
    ///   - now: the bind time.
    /// - Returns: whether the lease changed.
    @discardableResult
    public mutating func bind(to session: String, at now: Timestamp) throws(GatekeeperError) -> Bool {
        switch state {
        case .granted:
            state = .bound
            sessionID = session
            boundAt = now
            expiresAt = nil
            createInDoubtSince = nil
            return true
        case .bound, .draining:
            guard sessionID == session else {
                throw .leaseConflict(id, "the lease is bound to another session")
            }
            return false
        case .waiting:
            throw .leaseConflict(id, "the lease has not been granted yet")
        case .released, .expired:
            throw .leaseConflict(id, "the lease has ended (\(state.rawValue))")
        }
    }

    /// Pushes the expiry of a granted lease to now + its claim TTL; a no-op for bound and draining leases.
    /// - Parameter now: the renewal time.
    /// - Returns: whether the lease changed.
    @discardableResult
    public mutating func renew(at now: Timestamp) throws(GatekeeperError) -> Bool {
        switch state {
        case .granted:
            expiresAt = now.advanced(by: claimTTL)
            return true
        case .bound, .draining:
            return false
        case .waiting:
            throw .leaseConflict(id, "the lease has not been granted yet")
        case .released, .expired:
            throw .leaseConflict(id, "the lease has ended (\(state.rawValue))")
        }
    }

    /// A holder's release. granted → released; bound → draining (the slot stays counted until the platform says
    /// the session is terminal); draining, released and expired are no-ops.
    /// - Parameter now: the release time.
    /// - Returns: whether the lease changed.
    @discardableResult
    public mutating func release(at now: Timestamp) throws(GatekeeperError) -> Bool {
        switch state {
        case .granted:
            end(as: .released, at: now)
            return true
        case .bound:
            state = .draining
            return true
        case .draining, .released, .expired:
            return false
        case .waiting:
            throw .leaseConflict(id, "a waiting request is cancelled by closing its connection")
        }
    }

    /// The platform reported the lease's session terminal: bound or draining → released.
    /// - Parameter now: when the end was observed.
    public mutating func sessionEnded(at now: Timestamp) throws(GatekeeperError) {
        guard state == .bound || state == .draining else {
            throw .leaseConflict(id, "a \(state.rawValue) lease has no running session")
        }
        end(as: .released, at: now)
    }

    /// granted → expired, once `expiresAt` has passed.
    /// - Parameter now: the current time, at or after `expiresAt`.
    public mutating func expire(at now: Timestamp) throws(GatekeeperError) {
        guard state == .granted, let expiresAt, expiresAt <= now else {
            throw .leaseConflict(id, "only a granted lease past its expiry can expire")
        }
        end(as: .expired, at: now)
    }

    private mutating func end(as final: LeaseState, at now: Timestamp) {
        if state == .granted {
            // The holder may have created a session the platform does not count yet; a create with no
            // answer may have created one too. Keep the slot until a reading sent after both.
            countsUntilSnapshotAfter = max(now, createInDoubtSince ?? now)
        }
        state = final
        releasedAt = now
        expiresAt = nil
    }
}
