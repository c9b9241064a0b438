//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The child `slotgate run` forwards signals to; 0 before it is started.
private let forwardTarget = Atomic<Int32>(0)
/// A signal that arrived between installing the handlers and starting the child.
private let pendingSignal = Atomic<Int32>(0)

/// Passes SIGINT, SIGTERM, SIGHUP and SIGQUIT on to the child of `slotgate run` and keeps them from ending
/// `slotgate` itself, so the lease is released after the child is gone.
enum SignalForwarder {
    /// The signals passed on.
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Installs the handlers. Call just before starting the child.
    static func install() {
        for signal in forwarded {
            var action = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_sigaction = forwardSignal
            #else
            action.__sigaction_u.__sa_sigaction = forwardSignal
            #endif
            action.sa_flags = SA_SIGINFO | SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    /// Names the child to forward to, and passes on a signal that came while it was being started.
    /// - Parameter pid: the child's process id.
    static func attach(_ pid: Int32) {
        forwardTarget.store(pid, ordering: .sequentiallyConsistent)
        let pending = pendingSignal.exchange(0, ordering: .sequentiallyConsistent)
        if pending != 0 { kill(pid, pending) }
    }
}

/// The handler; only async-signal-safe work (atomics and `kill`).
private func forwardSignal(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    // A signal from the terminal (Ctrl-C, Ctrl-\) went to the whole foreground process group, the child
    // included: sending it again would deliver it twice. The kernel marks those SI_KERNEL; kill(2) gives SI_USER.
    if let info, info.pointee.si_code == 0x80 { return }
    let pid = forwardTarget.load(ordering: .sequentiallyConsistent)
    if pid > 0 {
        kill(pid, signal)
    } else {
        pendingSignal.store(signal, ordering: .sequentiallyConsistent)
    }
}
