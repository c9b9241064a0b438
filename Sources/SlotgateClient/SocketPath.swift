//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Where the local API listens, as clients find it: an explicit path (`--socket`), else `SLOTGATE_SOCKET`, else
/// `/run/slotgate/slotgate.sock`.
public enum SocketPath {
    /// The packaged default, `/run/slotgate/slotgate.sock`.
    public static let defaultPath = "/run/slotgate/slotgate.sock"

    /// The environment variable that names the socket.
    public static let environmentVariable = "SLOTGATE_SOCKET"

    /// Resolves the socket path.
    /// - Parameters:
    ///   - explicit: a path given on the command line, if any; an empty string counts as absent.
    ///   - environment: the process environment.
    /// - Returns: the path to connect to.
    public static func resolve(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty { return fromEnvironment }
        return defaultPath
    }
}
