//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SlotgateClient {
    /// Turns a transport error into a ``ClientError`` that says why the socket could not be used.
    func classify(_ error: any Error) -> ClientError {
        if let error = error as? ClientError { return error }
        return .unreachable(socket: socketPath, reason: Self.reason(for: error))
    }

    static func reason(for error: any Error) -> ClientError.UnreachableReason {
        if let error = error as? IOError { return reason(errno: error.errnoCode) }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return .timedOut
            case .deadlineExceeded, .readTimeout: return .other("no answer in time")
            case .remoteConnectionClosed: return .connectionClosed
            case .cancelled: return .other("cancelled")
            default: return .other(String(describing: error))
            }
        }
        if let error = error as? ChannelError {
            switch error {
            case .connectTimeout: return .timedOut
            case .ioOnClosedChannel, .eof, .outputClosed, .alreadyClosed, .inputClosed: return .connectionClosed
            default: return .other(String(describing: error))
            }
        }
        if let error = error as? SocketAddressError, case .unixDomainSocketPathTooLong = error {
            return .other("the socket path is too long for a Unix socket")
        }
        if error is CancellationError { return .other("cancelled") }
        return .other(String(describing: error))
    }

    static func reason(errno code: Int32) -> ClientError.UnreachableReason {
        switch code {
        case ENOENT: .noSuchFile
        case ECONNREFUSED: .connectionRefused
        case EACCES, EPERM: .permissionDenied
        case ENOTSOCK, ENOTDIR, EPROTOTYPE: .notASocket
        case ETIMEDOUT: .timedOut
        case ECONNRESET, EPIPE: .connectionClosed
        default: .other(String(cString: strerror(code)))
        }
    }
}
