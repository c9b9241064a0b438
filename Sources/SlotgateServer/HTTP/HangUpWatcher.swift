//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import NIOHTTPTypes

/// Tells a waiting route when its client hangs up: the connection's inbound side closes (the client closed or
/// half-closed its socket), an error ends it, or the channel goes inactive.
///
/// Hummingbird's `consumeWithCancellationOnInboundClose` learns the same by iterating the connection's inbound
/// stream in child tasks of the request's task: three tasks, two task groups and two async streams for each
/// parked waiter, each task keeping the allocator slabs of the deepest async call it made. With 10,000 waiters
/// that was most of the daemon's memory. This handler sees the event in the pipeline instead, where it passes
/// anyway, and calls back; the route then cancels one small task (``waitCancellingOnHangUp(_:channel:_:)``).
final class HangUpWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private enum State {
        /// The client is there; nobody waits for it to go.
        case connected
        /// The client is there; this runs when it goes.
        case watched(@Sendable () -> Void)
        /// The client went away.
        case hungUp
    }

    private var state = State.connected

    /// Runs `action` when the client hangs up, or at once if it already has. One action at a time: a later call
    /// replaces an earlier one (one request is answered at a time on a connection). Event loop only.
    /// - Parameter action: what to do.
    func onHangUp(_ action: @escaping @Sendable () -> Void) {
        switch state {
        case .connected, .watched: state = .watched(action)
        case .hungUp: action()
        }
    }

    /// Forgets the action: the request it was for has its answer. Event loop only.
    func stopWatching() {
        if case .watched = state { state = .connected }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { hangUp() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Any error ends the connection's inbound stream (a reset, a parse error after the request): the client
        // cannot send anything more, as `consumeWithCancellationOnInboundClose` also counts it.
        hangUp()
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        hangUp()
        context.fireChannelInactive()
    }

    private func hangUp() {
        let previous = state
        state = .hungUp
        if case .watched(let action) = previous { action() }
    }
}

/// Runs `wait` in a task of its own and returns its result; the task is cancelled when the client behind `channel`
/// hangs up (see ``HangUpWatcher``) or when the calling task is cancelled. Without a watcher in the channel's
/// pipeline (a test channel) only the caller's cancellation reaches it.
///
/// One unstructured task, not a child: a task group would keep the caller suspended in `group.next()` with the
/// group's record on its task stack, while here the caller only awaits the task's value, and `wait` itself stays
/// shallow, so neither task keeps more than a slab or two of its allocator while thousands of requests wait.
/// - Parameters:
///   - channel: the request's connection.
///   - wait: what to run; it must end promptly once cancelled.
func waitCancellingOnHangUp<Value: Sendable>(
    channel: any Channel,
    _ wait: @escaping @Sendable () async -> Value
) async -> Value {
    let task = Task { await wait() }
    return await withTaskCancellationHandler {
        let watching = channel.eventLoop.submit {
            let watcher = try channel.pipeline.syncOperations.handler(type: HangUpWatcher.self)
            watcher.onHangUp { task.cancel() }
        }
        let watched = (try? await watching.get()) != nil
        let value = await task.value
        if watched {
            channel.eventLoop.execute {
                (try? channel.pipeline.syncOperations.handler(type: HangUpWatcher.self))?.stopWatching()
            }
        }
        return value
    } onCancel: {
        task.cancel()
    }
}

/// Runs `work` like ``waitCancellingOnHangUp(channel:_:)``, for work that throws: cancelled when the client behind
/// `channel` hangs up or the caller is cancelled.
/// - Parameters:
///   - channel: the request's connection.
///   - work: what to run; it must end promptly once cancelled.
func runCancellingOnHangUp<Value: Sendable>(
    channel: any Channel,
    _ work: @escaping @Sendable () async throws -> Value
) async throws -> Value {
    let result = await waitCancellingOnHangUp(channel: channel) { () async -> Result<Value, any Error> in
        do {
            return .success(try await work())
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

/// Returns when the client behind `channel` hangs up (see ``HangUpWatcher``), or when the calling task is
/// cancelled; never without a watcher in the pipeline (only cancellation ends it then).
/// - Parameter channel: the request's connection.
func hangUp(of channel: any Channel) async {
    let (hungUp, signal) = AsyncStream<Void>.makeStream()
    channel.eventLoop.execute {
        (try? channel.pipeline.syncOperations.handler(type: HangUpWatcher.self))?.onHangUp { signal.finish() }
    }
    for await _ in hungUp {}
    channel.eventLoop.execute {
        (try? channel.pipeline.syncOperations.handler(type: HangUpWatcher.self))?.stopWatching()
    }
}
