//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Hummingbird
import NIOCore
import SlotgateCore

/// `/v1/status`, `/metrics` and `/healthz`.
struct StatusRoutes {
    let api: APIContext

    func register(on router: Router<SlotgateRequestContext>) {
        router.get("/v1/status") { _, _ in try await status() }
        Self.registerProbes(on: router, api: api)
    }

    /// `/metrics` and `/healthz`, also served on the optional loopback TCP listener.
    static func registerProbes<Context: RequestContext>(on router: Router<Context>, api: APIContext) {
        router.get("/metrics") { _, _ in
            api.metrics.update(from: await api.gatekeeper.status())
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: api.metrics.exposition()))
            )
        }
        router.get("/healthz") { _, _ in
            guard await Self.responsive(api.gatekeeper, within: .seconds(2)) else {
                throw APIError(.serviceUnavailable, "unhealthy", "The gatekeeper did not answer within 2 s.")
            }
            return try JSONResponse.make(.ok, ["status": "ok"])
        }
    }

    private func status() async throws -> Response {
        let status = await api.gatekeeper.status()
        let answer = StatusJSON(
            version: api.version,
            ready: api.readiness.isReady,
            host: api.host,
            mode: api.mode,
            status: status,
            facts: api.facts.snapshot
        )
        return try JSONResponse.make(.ok, answer)
    }

    /// Whether the gatekeeper actor answers within `limit` (a stuck core makes `/healthz` fail).
    static func responsive(_ gatekeeper: any SlotKeeper, within limit: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await gatekeeper.ping() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }
}
