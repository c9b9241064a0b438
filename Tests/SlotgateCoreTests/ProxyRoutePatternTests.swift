//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import Testing

/// `proxy.allow` and the path check in front of it: what is matched is what the platform gets, and nothing
/// reaches outside `/api/v2/`.
@Suite struct ProxyRoutePatternTests {
    @Test(
        "paths that could mean something else to a server on the way are refused",
        arguments: [
            "/api/v2/sessions/../vaults", "/api/v2/sessions/%2e%2e/vaults", "/api/v2/sessions/%2E%2E/vaults", "/api/v2/sessions/.%2e/vaults",
            "/api/v2/sessions/./x", "/api/v2/sessions/%2e", "/api/v2//vaults", "/api/v2/sessions//x", "/api/v2/sessions/",
            "/api/v2/sessions%2F..%2Fvaults", "/api/v2/sessions%2f..%2fvaults", "/api/v2/sessions%5C..%5Cvaults", "/api/v2/sessions\\..\\vaults",
            "/api/v2/sessions/..;/vaults", "/api/v2/sessions;x=1", "/api/v2/sessions/%252e%252e/vaults", "/api/v2/sessions/%00",
            "/api/v2/sessions/%0a", "/api/v2/sessions/%", "/api/v2/sessions/%zz", "/api/v2/sessions/%c3%28", "/api/v2", "/api/v2/",
            "/api/v3/sessions",
            "/api/v2/..", "/api/v2/sessions/%7f",
        ]
    )
    func trickyPathsAreRefused(raw: String) {
        #expect(throws: PlatformPath.Problem.self, "\(raw)") { try PlatformPath(raw: raw) }
    }

    @Test("ordinary paths read as their decoded segments")
    func ordinaryPaths() throws {
        #expect(try PlatformPath(raw: "/api/v2/sessions").segments == ["sessions"])
        #expect(try PlatformPath(raw: "/api/v2/sessions/ses_01ABC/changes").segments == ["sessions", "ses_01ABC", "changes"])
        #expect(try PlatformPath(raw: "/api/v2/sessions/a%20b").segments == ["sessions", "a b"])
        #expect(try PlatformPath(raw: "/api/v2/sessions/caf%C3%A9").segments == ["sessions", "café"])
    }

    @Test("what a path names for proxy.session_scope: the list, one session (and the routes under it), or no session")
    func sessionTargets() throws {
        #expect(SessionTarget(try PlatformPath(raw: "/api/v2/sessions")) == .list)
        #expect(SessionTarget(try PlatformPath(raw: "/api/v2/sessions/ses_1")) == .session("ses_1"))
        #expect(SessionTarget(try PlatformPath(raw: "/api/v2/sessions/ses_1/changes")) == .session("ses_1"))
        #expect(SessionTarget(try PlatformPath(raw: "/api/v2/sessions/%73es_1/status")) == .session("ses_1"), "decoded, as the platform reads it")
        #expect(SessionTarget(try PlatformPath(raw: "/api/v2/sessions/quota")) == .none)
        #expect(SessionTarget(try PlatformPath(raw: "/api/v2/quota/tokens")) == .none)
        #expect(SessionTarget(try PlatformPath(raw: "/api/v2/agents/x")) == .none)
    }

    static func allowed(_ method: String, _ raw: String, by patterns: [ProxyRoutePattern] = ProxyRoutePattern.defaults) throws -> Bool {
        patterns.allows(method: method, path: try PlatformPath(raw: raw))
    }

    @Test("the default forwards the session and quota routes, and nothing else")
    func defaults() throws {
        for (method, path) in [
            ("POST", "/api/v2/sessions"), ("GET", "/api/v2/sessions"), ("GET", "/api/v2/sessions/quota"), ("GET", "/api/v2/sessions/s1"),
            ("GET", "/api/v2/sessions/s1/changes"), ("POST", "/api/v2/sessions/s1/messages"), ("DELETE", "/api/v2/sessions/s1"),
            ("GET", "/api/v2/quota/tokens"),
        ] {
            #expect(try Self.allowed(method, path), "\(method) \(path)")
        }
        for (method, path) in [
            ("GET", "/api/v2/vaults"), ("GET", "/api/v2/vaults/v1/secrets"), ("POST", "/api/v2/webhooks"), ("GET", "/api/v2/agents"),
            ("GET", "/api/v2/quota"), ("GET", "/api/v2/sessionsx"), ("GET", "/api/v2/schedules/s1"),
        ] {
            #expect(try !Self.allowed(method, path), "\(method) \(path)")
        }
    }

    @Test("a method, * for one segment, ** for one or more at the end")
    func globs() throws {
        let patterns = try ["GET /api/v2/sessions/*", "POST /api/v2/agents/*/runs", "* /api/v2/skills/**"].map { try ProxyRoutePattern(parsing: $0) }
        #expect(try Self.allowed("GET", "/api/v2/sessions/s1", by: patterns))
        #expect(try !Self.allowed("DELETE", "/api/v2/sessions/s1", by: patterns))
        #expect(try !Self.allowed("GET", "/api/v2/sessions/s1/changes", by: patterns))
        #expect(try !Self.allowed("GET", "/api/v2/sessions", by: patterns))
        #expect(try Self.allowed("POST", "/api/v2/agents/a1/runs", by: patterns))
        #expect(try !Self.allowed("POST", "/api/v2/agents/a1/runs/r1", by: patterns))
        #expect(try Self.allowed("PATCH", "/api/v2/skills/x/y/z", by: patterns))
        #expect(try !Self.allowed("PATCH", "/api/v2/skills", by: patterns))
        #expect(patterns.map(\.description) == ["GET /api/v2/sessions/*", "POST /api/v2/agents/*/runs", "* /api/v2/skills/**"])
    }

    @Test(
        "entries that are not METHOD /api/v2/path are refused with a reason",
        arguments: [
            "/api/v2/sessions", "get /api/v2/sessions", "GET", "GET /api/v3/x", "GET /api/v2/sessions/**/x", "GET /api/v2/sess*",
            "GET /api/v2/../vaults", "GET /api/v2/sessions extra", "GET /api/v2/a%2Fb",
        ]
    )
    func badPatterns(text: String) {
        #expect(throws: ProxyRoutePattern.Problem.self, "\(text)") { try ProxyRoutePattern(parsing: text) }
    }
}
