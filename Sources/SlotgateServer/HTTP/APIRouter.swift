//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird

/// Builds the router of the local API (socket-api.md): status, leases, the proxy, metrics and health.
/// - Parameter api: what the routes need.
/// - Returns: the router.
public func buildAPIRouter(_ api: APIContext) -> Router<SlotgateRequestContext> {
    let router = Router(context: SlotgateRequestContext.self)
    router.add(middleware: APIErrorMiddleware())
    StatusRoutes(api: api).register(on: router)
    LeaseRoutes(api: api).register(on: router)
    ProxyRoutes(api: api).register(on: router)
    return router
}

/// Builds the router of the optional loopback TCP listener: `/metrics` and `/healthz` only, never leases.
/// - Parameter api: what the routes need.
/// - Returns: the router.
public func buildMetricsRouter(_ api: APIContext) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: APIErrorMiddleware())
    StatusRoutes.registerProbes(on: router, api: api)
    return router
}
