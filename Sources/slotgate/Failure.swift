//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import SlotgateClient

/// How a failed call is told: one line on stderr and a stable exit code (listed in `slotgate --help`).
enum Failure {
    /// `EX_DATAERR`: the daemon refused the request as malformed.
    static let dataError: Int32 = 65
    /// `EX_UNAVAILABLE`: the daemon cannot be reached.
    static let unavailable: Int32 = 69
    /// `EX_NOPERM`: the lease is another user's (403 forbidden).
    static let noPermission: Int32 = 77
    /// `EX_TEMPFAIL`: try again later.
    static let temporary: Int32 = 75
    /// `EX_PROTOCOL`: the answer could not be read.
    static let protocolError: Int32 = 76

    /// Prints the error's line and returns the exit code to throw.
    /// - Parameter error: the client error.
    static func report(_ error: ClientError) -> ExitCode {
        Terminal.printError(line(for: error))
        return ExitCode(exitCode(for: error))
    }

    /// The one line for an error, starting `slotgate: `.
    /// - Parameter error: the client error.
    static func line(for error: ClientError) -> String {
        if let reason = error.unreachableReason {
            let socket = error.socketPath ?? SocketPath.defaultPath
            return "slotgate: cannot reach slotgated at \(socket): \(reason) — \(hint(for: reason))"
        }
        if let code = error.code {
            return "slotgate: \(code): \(error.message)"
        }
        return "slotgate: \(error.description)"
    }

    /// The exit code for an error.
    /// - Parameter error: the client error.
    static func exitCode(for error: ClientError) -> Int32 {
        if error.isUnreachable { return unavailable }
        guard error.code != nil else { return protocolError }
        switch error.httpStatus {
        case 502, 503: return temporary
        case 400, 413: return dataError
        case 403: return noPermission
        default: return 1
        }
    }

    private static func hint(for reason: ClientError.UnreachableReason) -> String {
        switch reason {
        case .noSuchFile:
            "is slotgated running (systemctl status slotgated) and is this its socket (--socket, SLOTGATE_SOCKET)?"
        case .connectionRefused, .connectionClosed, .timedOut:
            "is slotgated running (systemctl status slotgated)?"
        case .permissionDenied:
            "may you use the socket (group slotgate: sudo usermod -aG slotgate $USER, then log in again)?"
        case .notASocket:
            "is this slotgated's socket (--socket, SLOTGATE_SOCKET)?"
        case .other:
            "is slotgated running (systemctl status slotgated) and may you use the socket (group slotgate)?"
        }
    }
}
