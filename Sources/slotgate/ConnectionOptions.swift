//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import ArgumentParser
import Foundation
import SlotgateClient

/// `--socket`, shared by every command that talks to the daemon.
struct ConnectionOptions: ParsableArguments {
    @Option(name: .long, help: "slotgated's socket (default: $SLOTGATE_SOCKET, else /run/slotgate/slotgate.sock).")
    var socket: String?

    /// The socket to use: `--socket`, else `SLOTGATE_SOCKET`, else the packaged default.
    var socketPath: String {
        SocketPath.resolve(explicit: socket, environment: ProcessInfo.processInfo.environment)
    }

    /// Runs `body` with a client and shuts the client down afterwards. A ``ClientError`` is printed as one line on
    /// stderr and becomes the documented exit code.
    func withClient<T>(_ body: (SlotgateClient) async throws -> T) async throws -> T {
        let client = SlotgateClient(socketPath: socketPath)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(client))
        } catch {
            result = .failure(error)
        }
        try? await client.shutdown()
        switch result {
        case .success(let value):
            return value
        case .failure(let error as ClientError):
            throw Failure.report(error)
        case .failure(let error):
            throw error
        }
    }
}
