//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import NIOCore
import Synchronization

/// Copies a forwarded answer's body from the platform to the client as it arrives.
///
/// One part is in flight at a time: the next part is read from the platform only once the client has taken the
/// last, so a slow client slows the platform's stream instead of filling the daemon's memory. A platform that sends
/// nothing for `idleLimit` while the client waits ends the answer (the client sees the connection close before
/// the body's end); the time a slow client takes does not count.
enum BodyRelay {
    /// The platform sent no part within the idle limit.
    struct Stalled: Error {}
    /// The client hung up while the platform sent nothing.
    struct ClientGone: Error {}

    /// Relays `body` to `writer` and finishes the answer.
    /// - Parameters:
    ///   - body: the platform's body.
    ///   - idleLimit: the longest wait for one part from the platform; nil waits as long as the client does.
    ///   - hangUp: returns when the client hangs up, which ends the relay even while the platform sends nothing.
    ///   - writer: the client's answer.
    /// - Throws: ``Stalled``, the platform's transport error, or the client's (it hung up).
    static func relay<Body: AsyncSequence & Sendable>(
        _ body: Body,
        idleLimit: Duration?,
        hangUp: (@Sendable () async -> Void)? = nil,
        to writer: inout any ResponseBodyWriter
    ) async throws where Body.Element == ByteBuffer {
        let (parts, partSink) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        let (demand, demandSink) = AsyncStream<Void>.makeStream()
        let askedSince = AskedSince()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    var iterator = body.makeAsyncIterator()
                    for await _ in demand {
                        askedSince.value.withLock { $0 = .now }
                        guard let part = try await iterator.next() else { break }
                        askedSince.value.withLock { $0 = nil }
                        partSink.yield(part)
                    }
                    partSink.finish()
                } catch {
                    partSink.finish(throwing: error)
                }
            }
            if let idleLimit {
                group.addTask {
                    while !Task.isCancelled {
                        let since = askedSince.value.withLock { $0 }
                        let left = since.map { idleLimit - $0.duration(to: .now) } ?? idleLimit
                        if left <= .zero {
                            partSink.finish(throwing: Stalled())
                            return
                        }
                        try? await Task.sleep(for: min(left, .seconds(1)))
                    }
                }
            }
            if let hangUp {
                group.addTask {
                    await hangUp()
                    if !Task.isCancelled { partSink.finish(throwing: ClientGone()) }
                }
            }
            demandSink.yield()
            for try await part in parts {
                try await writer.write(part)
                demandSink.yield()
            }
            demandSink.finish()
            group.cancelAll()
        }
        try await writer.finish(nil)
    }

    /// Since when the platform has been asked for a part; nil while a part is with the client.
    private final class AskedSince: Sendable {
        let value = Mutex<ContinuousClock.Instant?>(nil)
    }
}
