//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// What a malformed request must get back.
enum Expectation {
    /// Exactly this status and code.
    case exactly(Int, String)
    /// Any row of the error table.
    case anyDocumented
    /// A result (2xx with a JSON object, or JSON lines for a streamed answer), or any row of the error table.
    case resultOrDocumented
    /// An answer of the platform passed through unchanged (whatever its status, not in slotgate's error shape), or
    /// a row of the error table.
    case forwarded

    /// Whether the answer is the daemon's own (not the platform's passed through).
    var isOwnAnswer: Bool {
        if case .forwarded = self { return false }
        return true
    }

    func problem(with reply: HTTPReply) -> String? {
        switch self {
        case .resultOrDocumented where (200..<300).contains(reply.status):
            return Self.resultProblem(reply)
        case .forwarded where reply.json?["error"] == nil:
            // Not slotgate's error shape: the platform's answer as it came (agp-api.md), which is JSON when it says so.
            if reply.body.isEmpty || reply.json != nil || reply.header("content-type")?.contains("json") != true { return nil }
            return "a forwarded JSON answer that is not a JSON object: \(reply)"
        default:
            break
        }
        if let problem = errorShapeProblem(reply) { return problem }
        let code = errorCode(reply) ?? ""
        switch self {
        case .exactly(let status, let expected):
            if reply.status != status || code != expected { return "expected \(status) \(expected), got \(reply)" }
        case .anyDocumented, .resultOrDocumented, .forwarded:
            if !E2E.documentedErrors.contains("\(reply.status) \(code)") { return "\(reply.status) \(code) is not a row of the error table" }
        }
        return nil
    }

    /// What is wrong with a 2xx answer: its body must be a JSON object, or JSON objects one a line when streamed.
    private static func resultProblem(_ reply: HTTPReply) -> String? {
        if reply.status == 204 { return nil }
        if reply.header("content-type")?.contains("application/x-ndjson") == true {
            let lines = reply.body.split(separator: UInt8(ascii: "\n"))
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
            return objects.count == lines.count && !lines.isEmpty ? nil : "a streamed answer whose lines are not all JSON objects: \(reply)"
        }
        if reply.json == nil, reply.header("content-type")?.contains("text/plain") != true {
            return "a \(reply.status) whose body is not a JSON object: \(reply)"
        }
        return nil
    }
}

/// One generated request: its bytes (a complete HTTP/1.1 request with `Connection: close`) and what it must get.
struct MalformedSample {
    var bytes: [UInt8]
    var summary: String
    var expectation: Expectation
}

/// Generates well-framed HTTP requests that are wrong in their JSON, types, ranges, paths, methods or proxy
/// headers, so that none of them can be granted anything.
struct MalformedRequests {
    let lease: String

    init(lease: String) {
        self.lease = lease
    }

    mutating func next(using random: inout SplitMix64) -> MalformedSample {
        var sample: MalformedSample
        switch Int.random(in: 0..<9, using: &random) {
        case 0: sample = invalidJSON(using: &random)
        case 1: sample = wrongField(using: &random)
        case 2: sample = wrongField(using: &random)
        case 3: sample = badBind(using: &random)
        case 4: sample = randomPath(using: &random)
        case 5: sample = wrongMethod(using: &random)
        case 6: sample = badProxyHeaders(using: &random)
        case 7: sample = badCancelFlag(using: &random)
        default: sample = nonObjectJSON(using: &random)
        }
        if Int.random(in: 0..<8, using: &random) == 0 {
            // A large but legal header: the parser takes it, the route answers as before.
            let size = Int.random(in: 1024...16_384, using: &random)
            let padding = String(repeating: "x", count: size)
            sample.bytes = Self.insertHeader("X-Padding: \(padding)", into: sample.bytes)
            sample.summary += " +\(size)-byte header"
        }
        return sample
    }

    // MARK: Kinds

    private func invalidJSON(using random: inout SplitMix64) -> MalformedSample {
        let valid = [#"{"holder":"h","wait_s":0}"#, #"{"priority":1,"claim_ttl_s":30}"#, #"{"wait_s":0.5}"#]
        let broken = [
            String(valid[Int.random(in: 0..<valid.count, using: &random)].dropLast(Int.random(in: 1...5, using: &random))),
            "{", "}", "{\"wait_s\":}", "{\"wait_s\" 1}", "{'wait_s': 1}", "{\"a\":1,}", "nul", "{\"wait_s\":1e999}",
            "{\"holder\":\"\\u12\"}",
            // A control character first: random text can never be a valid object (such as `{}`) by chance.
            "\u{1}" + Self.randomText(Int.random(in: 1...64, using: &random), using: &random),
        ]
        let body = broken[Int.random(in: 0..<broken.count, using: &random)]
        let summary = "POST /v1/leases invalid JSON \(body.debugDescription.prefix(40))"
        return Self.request("POST", "/v1/leases", body: Array(body.utf8), summary: summary, .exactly(400, "bad_request"))
    }

    private func nonObjectJSON(using random: inout SplitMix64) -> MalformedSample {
        let values = ["[]", "[{}]", "1", "-0.5", "\"text\"", "true", "false", "null", "[\"wait_s\", 0]"]
        let body = values[Int.random(in: 0..<values.count, using: &random)]
        let target = ["/v1/leases", "/v1/leases/\(lease)/renew", "/v1/leases/\(lease)/session"][Int.random(in: 0..<3, using: &random)]
        return Self.request("POST", target, body: Array(body.utf8), summary: "POST \(target) body \(body)", .exactly(400, "bad_request"))
    }

    /// A lease request with at least one field of the wrong type or out of range, maybe beside good ones.
    private func wrongField(using random: inout SplitMix64) -> MalformedSample {
        let wrong: [(String, String)] = [
            ("holder", "5"), ("holder", "true"), ("holder", "[\"h\"]"), ("holder", "{}"), ("holder", "\"\(String(repeating: "h", count: 129))\""),
            ("priority", "11"), ("priority", "-11"), ("priority", "1.5"), ("priority", "\"1\""), ("priority", "true"), ("priority", "1e3"),
            ("wait_s", "-1"), ("wait_s", "86401"), ("wait_s", "\"5\""), ("wait_s", "true"), ("wait_s", "[]"), ("wait_s", "{}"),
            ("wait_s", "-0.001"), ("claim_ttl_s", "0"), ("claim_ttl_s", "0.5"), ("claim_ttl_s", "3601"), ("claim_ttl_s", "\"x\""),
            ("claim_ttl_s", "false"), ("unknown_field", "1"), ("Holder", "\"h\""), ("wait", "1"), ("", "0"),
        ]
        let good: [(String, String)] = [("holder", "\"fuzz\""), ("priority", "0"), ("wait_s", "0"), ("claim_ttl_s", "60")]
        let bad = wrong[Int.random(in: 0..<wrong.count, using: &random)]
        var fields = [bad]
        for field in good where field.0 != bad.0 && Bool.random(using: &random) { fields.append(field) }
        fields.shuffle(using: &random)
        let body = "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        return Self.request("POST", "/v1/leases", body: Array(body.utf8), summary: "POST /v1/leases \(body.prefix(60))", .exactly(400, "bad_request"))
    }

    private func badBind(using random: inout SplitMix64) -> MalformedSample {
        let bodies = [
            #"{"session_id":5}"#, #"{"session_id":null}"#, #"{"session_id":""}"#, #"{"session_id":["a"]}"#, #"{"session_id":{}}"#,
            #"{"session_id":true}"#, #"{}"#, #"{"session":"a"}"#, #"{"session_id":"a","extra":1}"#,
            "{\"session_id\":\"\(String(repeating: "s", count: 300))\"}",
        ]
        let body = bodies[Int.random(in: 0..<bodies.count, using: &random)]
        let target = "/v1/leases/\(lease)/session"
        return Self.request("POST", target, body: Array(body.utf8), summary: "POST \(target) \(body.prefix(50))", .exactly(400, "bad_request"))
    }

    private func randomPath(using random: inout SplitMix64) -> MalformedSample {
        let prefixes = ["", "/v1", "/v1/leases", "/v1/leases/\(lease)", "/v2", "/api", "/api/v1", "/v1/status", "/metrics"]
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHJKMNPQRSTVWXYZ0123456789-_~")
        let escapes = ["%00", "%2F", "%2e", "%ff", "%20", "%25", "%C3%A9", "%0A"]
        var path = prefixes[Int.random(in: 0..<prefixes.count, using: &random)]
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            var segment = ""
            for _ in 0..<Int.random(in: 1...24, using: &random) {
                if Int.random(in: 0..<6, using: &random) == 0 {
                    segment += escapes[Int.random(in: 0..<escapes.count, using: &random)]
                } else {
                    segment.append(alphabet[Int.random(in: 0..<alphabet.count, using: &random)])
                }
            }
            path += "/" + segment
        }
        if Int.random(in: 0..<4, using: &random) == 0 {
            path += "?x=" + (Self.randomText(8, using: &random).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }
        let methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
        let method = methods[Int.random(in: 0..<methods.count, using: &random)]
        let body: [UInt8]? = method == "POST" || method == "PUT" ? Array("{\"holder\":7}".utf8) : nil
        return Self.request(method, path, body: body, summary: "\(method) \(path.prefix(80))", .anyDocumented)
    }

    private func wrongMethod(using random: inout SplitMix64) -> MalformedSample {
        let cases: [(String, String)] = [
            ("POST", "/v1/status"), ("PUT", "/v1/status"), ("DELETE", "/v1/status"), ("PATCH", "/v1/status"),
            ("PUT", "/v1/leases"), ("DELETE", "/v1/leases"), ("PATCH", "/v1/leases"),
            ("POST", "/v1/leases/\(lease)"), ("PUT", "/v1/leases/\(lease)"), ("PATCH", "/v1/leases/\(lease)"),
            ("GET", "/v1/leases/\(lease)/session"), ("DELETE", "/v1/leases/\(lease)/session"), ("PUT", "/v1/leases/\(lease)/renew"),
            ("GET", "/v1/leases/\(lease)/renew"), ("POST", "/metrics"), ("DELETE", "/metrics"), ("PUT", "/healthz"), ("POST", "/healthz"),
        ]
        let (method, path) = cases[Int.random(in: 0..<cases.count, using: &random)]
        let body: [UInt8]? = Bool.random(using: &random) ? Array("{}".utf8) : nil
        return Self.request(method, path, body: body, summary: "\(method) \(path)", .exactly(405, "method_not_allowed"))
    }

    private func badProxyHeaders(using random: inout SplitMix64) -> MalformedSample {
        let waits = ["abc", "-1", "86401", "1e9", "nan", "inf", "-inf", "", "1,5", "--1", "5s", "infinity"]
        let priorities = ["11", "-11", "1.5", "x", "", "1e1", "+-1", "0.0", "99999999999999999999", "1 2"]
        var headers: [String] = []
        var summary = "POST /api/v2/sessions"
        let which = Int.random(in: 0..<4, using: &random)
        if which == 0 || which == 2 {
            let value = waits[Int.random(in: 0..<waits.count, using: &random)]
            headers.append("Slotgate-Wait: \(value)")
            summary += " Slotgate-Wait '\(value)'"
        }
        if which == 1 || which == 2 {
            let value = priorities[Int.random(in: 0..<priorities.count, using: &random)]
            headers.append("Slotgate-Priority: \(value)")
            summary += " Slotgate-Priority '\(value)'"
        }
        if which == 3 {
            let value = "lse_" + Self.randomText(Int.random(in: 0...40, using: &random), using: &random).filter { $0.isLetter || $0.isNumber }
            headers.append("Slotgate-Lease: \(value)")
            headers.append("Slotgate-Wait: 0")
            return Self.request(
                "POST",
                "/api/v2/sessions",
                body: Array(#"{"agent":"h/x","queue":false}"#.utf8),
                extraHeaders: headers,
                summary: summary + " Slotgate-Lease '\(value)'",
                .exactly(404, "lease_not_found")
            )
        }
        return Self.request(
            "POST",
            "/api/v2/sessions",
            body: Array(#"{"agent":"h/x","queue":false}"#.utf8),
            extraHeaders: headers,
            summary: summary,
            .exactly(400, "bad_request")
        )
    }

    private func badCancelFlag(using random: inout SplitMix64) -> MalformedSample {
        let values = ["maybe", "2", "yes", "-1", "tru", "on", "10", "%00"]
        let value = values[Int.random(in: 0..<values.count, using: &random)]
        let path = "/v1/leases/\(lease)?cancel_session=\(value)"
        return Self.request("DELETE", path, body: nil, summary: "DELETE \(path)", .exactly(400, "bad_request"))
    }

    // MARK: Building requests

    static func request(
        _ method: String,
        _ target: String,
        body: [UInt8]?,
        extraHeaders: [String] = [],
        summary: String,
        _ expectation: Expectation
    ) -> MalformedSample {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: slotgate\r\nConnection: close\r\n"
        for header in extraHeaders { head += header + "\r\n" }
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        return MalformedSample(bytes: Array(head.utf8) + (body ?? []), summary: summary, expectation: expectation)
    }

    static func insertHeader(_ header: String, into bytes: [UInt8]) -> [UInt8] {
        let lineEnd: [UInt8] = Array("\r\n".utf8)
        guard let first = bytes.firstRange(of: lineEnd) else { return bytes }
        return Array(bytes[..<first.upperBound]) + Array((header + "\r\n").utf8) + Array(bytes[first.upperBound...])
    }

    static func randomText(_ count: Int, using random: inout SplitMix64) -> String {
        let characters = Array("abcXYZ019 {}[]\":,.\\-+eE\n\t'é€")
        return String((0..<count).map { _ in characters[Int.random(in: 0..<characters.count, using: &random)] })
    }
}

/// Requests that break HTTP/1.1 framing itself: more than the parser takes, bytes that are no request, a body
/// cut short.
enum BrokenFraming {
    struct Sample {
        var bytes: [UInt8]
        var halfClose: Bool
        var summary: String
    }

    static func next(using random: inout SplitMix64) -> Sample {
        switch Int.random(in: 0..<8, using: &random) {
        case 0:
            let size = Int.random(in: 90_000...200_000, using: &random)
            let head = "GET /v1/status HTTP/1.1\r\nHost: slotgate\r\nX-Huge: \(String(repeating: "a", count: size))\r\n\r\n"
            return Sample(bytes: Array(head.utf8), halfClose: false, summary: "a \(size)-byte header")
        case 1:
            let count = Int.random(in: 3000...6000, using: &random)
            let headers = (0..<count).map { "X-H\($0): v\r\n" }.joined()
            return Sample(
                bytes: Array("GET /v1/status HTTP/1.1\r\nHost: slotgate\r\n\(headers)\r\n".utf8),
                halfClose: false,
                summary: "\(count) headers"
            )
        case 2:
            let garbage = [
                "GARBAGE\r\n\r\n", "\u{16}\u{03}\u{01}\u{00}\u{a5}\r\n\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "GET\r\n\r\n", "/v1/status\r\n\r\n",
            ]
            let text = garbage[Int.random(in: 0..<garbage.count, using: &random)]
            return Sample(bytes: Array(text.utf8), halfClose: false, summary: "garbage \(text.debugDescription)")
        case 3:
            let values = ["abc", "-5", "1, 2", "99999999999999999999999"]
            let value = values[Int.random(in: 0..<values.count, using: &random)]
            return Sample(
                bytes: Array("POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nContent-Length: \(value)\r\n\r\n{}".utf8),
                halfClose: false,
                summary: "Content-Length '\(value)'"
            )
        case 4:
            let methods = ["FROB", "G ET", "get", "BREW"]
            let method = methods[Int.random(in: 0..<methods.count, using: &random)]
            return Sample(
                bytes: Array("\(method) /v1/status HTTP/1.1\r\nHost: slotgate\r\n\r\n".utf8),
                halfClose: false,
                summary: "method '\(method)'"
            )
        case 5:
            let declared = Int.random(in: 20...4000, using: &random)
            let sent = Int.random(in: 0..<min(declared, 16), using: &random)
            let body = String(#"{"holder":"truncated","wait_s":0}"#.prefix(sent))
            let head = "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nContent-Type: application/json\r\nContent-Length: \(declared)\r\n\r\n"
            return Sample(bytes: Array((head + body).utf8), halfClose: true, summary: "body truncated at \(sent) of \(declared) bytes")
        case 6:
            let head = "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
            return Sample(bytes: Array(head.utf8), halfClose: false, summary: "a bad chunk size")
        default:
            let head = "GET /v1/status\u{0} HTTP/1.1\r\nHost: slotgate\r\n\r\n"
            return Sample(bytes: Array(head.utf8), halfClose: false, summary: "a NUL in the request line")
        }
    }
}
