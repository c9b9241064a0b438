//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import Logging
import NIOCore

/// The request context of the local API: Hummingbird's core storage plus the connection, so a route can read
/// the peer's credentials (SO_PEERCRED) from the socket.
public struct SlotgateRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Bodies beyond this are answered 413 (socket-api.md "Transport": 64 KiB).
    public var maxUploadSize: Int { APILimits.bodyBytes }
}

/// The fixed limits of socket-api.md "Transport".
public enum APILimits {
    /// Largest request body on `/v1/` routes.
    public static let bodyBytes = 64 * 1024
    /// Largest body a proxied request may carry: the platform's own limit (agp-api.md §1, U16), so a create with
    /// images is not refused here.
    public static let proxyBodyBytes = 5 * 1024 * 1024
    /// How long a connection may sit without a complete request head.
    public static let headerTimeout: Duration = .seconds(10)
}
