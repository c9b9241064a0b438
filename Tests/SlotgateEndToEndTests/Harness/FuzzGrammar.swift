//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation

/// One request of a ``FuzzScript``: its bytes and what it must get.
struct FuzzRequest {
    var bytes: [UInt8]
    var summary: String
    /// What the answer must be, when there is one.
    var expectation: Expectation
    /// A HEAD or CONNECT request: its answer has no body (SwiftNIO's encoder leaves out the body of any answer to
    /// CONNECT, and its length).
    var bodiless = false
    /// It may wait for a slot: a half-close withdraws it, and then it gets no answer (README "Clients").
    var waits = false
    /// Its framing cannot be read (HTTP/1.1 says nothing about where it ends): it gets 400 `bad_request` (or 413)
    /// and the connection closes, or the connection closes without an answer. Nothing after it is answered.
    var unreadable = false
}

extension FuzzRequest {
    /// Whether the parser may reject the request: it is unreadable, or its head has bytes outside printable ASCII
    /// (other than CR, LF and tab), a backslash, or a folded header line.
    var mayBeUnparseable: Bool {
        if unreadable { return true }
        let head = bytes.firstRange(of: Array("\r\n\r\n".utf8)).map { bytes[..<$0.lowerBound] } ?? bytes[...]
        if head.contains(where: { $0 >= 0x7F || ($0 < 0x20 && $0 != 0x0D && $0 != 0x0A && $0 != 0x09) || $0 == 0x5C }) { return true }
        return head.firstRange(of: Array("\r\n ".utf8)) != nil
    }
}

/// Requests sent on one connection.
struct FuzzScript {
    enum Delivery {
        /// Each request is sent once the one before it is answered (keep-alive).
        case oneByOne
        /// All in one write; the answers must come in order.
        case pipelined
        /// All in one write, then the sending side is shut down: every complete request is still answered.
        case halfClosed
    }

    var requests: [FuzzRequest]
    var delivery: Delivery
}

/// A grammar of HTTP/1.1 requests to the daemon: methods, paths with traversal and percent-encoding, query strings,
/// duplicate and oversized headers, chunked bodies good and bad, JSON with wrong types, huge numbers, deep nesting
/// and invalid UTF-8, valid lease requests that take real slots, and platform routes through the proxy. The older
/// generators, ``MalformedRequests`` and ``BrokenFraming``, are two of its productions.
struct FuzzGrammar {
    /// Lease ids to aim at: leases the fuzzer took, and one that no daemon issued.
    var leases: [String] = []

    static let unknownLease = "lse_01J9Z3ABCDEFGHJKMNPQRSTVWX"

    mutating func script(using random: inout SplitMix64) -> FuzzScript {
        let deliveries: [FuzzScript.Delivery] = [.oneByOne, .oneByOne, .pipelined, .pipelined, .halfClosed]
        var delivery = deliveries[Int.random(in: 0..<deliveries.count, using: &random)]
        let count = Int.random(in: 1...8, using: &random)
        var requests: [FuzzRequest] = []
        for _ in 0..<count {
            var request = next(using: &random)
            if request.unreadable {
                // What follows an unreadable request must not be answered: a request after it checks that. A body
                // cut short by a half-close is the last thing sent (a request after it would be read as its body).
                let cutShort = request.summary.hasPrefix("half-closed")
                if cutShort || Bool.random(using: &random) { requests.append(request) } else { requests.append(contentsOf: [request, status()]) }
                if cutShort { delivery = .halfClosed }
                break
            }
            if delivery == .halfClosed, request.summary.hasPrefix("half-closed") { request.waits = true }
            requests.append(request)
        }
        return FuzzScript(requests: requests, delivery: delivery)
    }

    /// One request from one production of the grammar.
    mutating func next(using random: inout SplitMix64) -> FuzzRequest {
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<14: return malformed(using: &random)
        case 14..<26: return acquire(using: &random)
        case 26..<36: return leaseOperation(using: &random)
        case 36..<50: return grammarRequest(using: &random)
        case 50..<58: return headerCase(using: &random)
        case 58..<66: return chunkedCase(using: &random)
        case 66..<80: return jsonCase(using: &random)
        case 80..<92: return proxied(using: &random)
        default: return framing(using: &random)
        }
    }

    private func pick<T>(_ values: [T], _ random: inout SplitMix64) -> T { values[Int.random(in: 0..<values.count, using: &random)] }

    private func lease(_ random: inout SplitMix64) -> String {
        leases.isEmpty || Int.random(in: 0..<5, using: &random) == 0 ? Self.unknownLease : pick(leases, &random)
    }

    // MARK: Productions

    /// ``MalformedRequests``, kept alive.
    private func malformed(using random: inout SplitMix64) -> FuzzRequest {
        var generator = MalformedRequests(lease: lease(&random))
        let sample = generator.next(using: &random)
        return FuzzRequest(bytes: Self.keptAlive(sample.bytes), summary: sample.summary, expectation: sample.expectation)
    }

    /// ``BrokenFraming``: unreadable.
    private func framing(using random: inout SplitMix64) -> FuzzRequest {
        let sample = BrokenFraming.next(using: &random)
        let summary = (sample.halfClose ? "half-closed: " : "") + sample.summary
        return FuzzRequest(bytes: sample.bytes, summary: summary, expectation: .exactly(400, "bad_request"), unreadable: true)
    }

    private func status() -> FuzzRequest {
        Self.request("GET", "/v1/status", summary: "GET /v1/status", .resultOrDocumented)
    }

    /// A lease request that can be granted: try-once, or a short wait; a short claim TTL, so that an unreleased
    /// lease expires soon.
    private func acquire(using random: inout SplitMix64) -> FuzzRequest {
        var fields = ["\"claim_ttl_s\":\(pick(["1", "2", "1.5", "3"], &random))"]
        let wait = pick(["0", "0", "0", "0.0", "0.05", "0.2"], &random)
        fields.append("\"wait_s\":\(wait)")
        if Bool.random(using: &random) { fields.append("\"holder\":\"fuzz-\(Int.random(in: 0..<6, using: &random))\"") }
        if Bool.random(using: &random) { fields.append("\"priority\":\(Int.random(in: -10...10, using: &random))") }
        fields.shuffle(using: &random)
        let body = "{" + fields.joined(separator: ",") + "}"
        let streamed = Int.random(in: 0..<6, using: &random) == 0
        let target = streamed ? pick(["/v1/leases?stream=1", "/v1/leases?stream=true"], &random) : "/v1/leases"
        var request = Self.request("POST", target, body: Array(body.utf8), summary: "POST \(target) \(body)", .resultOrDocumented)
        request.waits = Double(wait) != 0 || streamed
        return request
    }

    /// The lease routes on leases the fuzzer took (or an unknown one), with good and bad query strings.
    private func leaseOperation(using random: inout SplitMix64) -> FuzzRequest {
        let id = lease(&random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return Self.request("GET", "/v1/leases/\(id)", summary: "GET lease", .resultOrDocumented)
        case 1:
            let query = pick(
                ["", "?all=1", "?all=true", "?all=0", "?all=maybe", "?all=1&all=0", "?x=%zz", "?&&=&", "?" + Self.hugeQuery(&random)],
                &random
            )
            return Self.request("GET", "/v1/leases\(query)", summary: "GET /v1/leases\(query.prefix(40))", .resultOrDocumented)
        case 2: return Self.request("POST", "/v1/leases/\(id)/renew", summary: "renew", .resultOrDocumented)
        case 3:
            let body = pick(["", "{}", "[]", "{\"claim_ttl_s\":1}"], &random)
            return Self.request("POST", "/v1/leases/\(id)/renew", body: Array(body.utf8), summary: "renew body \(body)", .resultOrDocumented)
        default:
            let query = pick(
                [
                    "", "", "?cancel_session=0", "?cancel_session=1", "?cancel_session=true", "?cancel_session=maybe",
                    "?cancel_session=1&cancel_session=0", "?cancel_session=0&cancel_session=maybe", "?cancel_session", "?cancel_session=",
                    "?cancel_session=%31", "?" + Self.hugeQuery(&random),
                ],
                &random
            )
            return Self.request("DELETE", "/v1/leases/\(id)\(query)", summary: "DELETE lease\(query.prefix(50))", .resultOrDocumented)
        }
    }

    /// Methods × paths × queries from the grammar, on routes of the daemon and of the platform.
    private func grammarRequest(using random: inout SplitMix64) -> FuzzRequest {
        let method = pick(
            ["GET", "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "MKCOL", "LINK", "PURGE", "SEARCH"],
            &random
        )
        var segments: [[UInt8]] = []
        let roots: [[String]] = [
            ["v1", "status"], ["v1", "leases"], ["v1", "leases", lease(&random)], ["v1", "leases", lease(&random), "renew"],
            ["v1", "leases", lease(&random), "session"], ["metrics"], ["healthz"], ["api", "v2", "sessions"], ["api", "v2", "sessions", "quota"],
            ["api", "v2", "quota", "tokens"], ["api", "v2", "vaults"], ["api", "v2"], ["v1"], [],
        ]
        for segment in pick(roots, &random) { segments.append(Array(segment.utf8)) }
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let insert = Self.pathSegment(&random)
            segments.insert(insert, at: Int.random(in: 0...segments.count, using: &random))
        }
        var target: [UInt8] = segments.isEmpty ? [0x2F] : segments.flatMap { [0x2F] + $0 }
        if Int.random(in: 0..<8, using: &random) == 0 { target += [0x2F] }
        if Int.random(in: 0..<3, using: &random) == 0 { target += Array(("?" + Self.query(&random)).utf8) }
        let printable = String(decoding: target.prefix(80), as: UTF8.self)
        let body: [UInt8]? = method == "POST" || method == "PUT" || method == "PATCH" ? Array(pick(["{}", "{\"wait_s\":0}", ""], &random).utf8) : nil
        let isPlatform = String(decoding: target, as: UTF8.self).hasPrefix("/api/v2")
        var request = Self.request(
            method,
            target,
            body: body,
            extraHeaders: isPlatform ? ["Slotgate-Wait: 0"] : [],
            summary: "\(method) \(printable.debugDescription)",
            isPlatform ? .forwarded : .resultOrDocumented
        )
        request.bodiless = method == "HEAD" || method == "CONNECT"
        // A POST to /v1/leases (the path may be reached after `.` segments or encodings) or a create through the
        // proxy can wait for a slot.
        request.waits = method == "POST"
        return request
    }

    /// Duplicate, oversized and odd headers.
    private func headerCase(using random: inout SplitMix64) -> FuzzRequest {
        let body = Array("{\"wait_s\":0,\"claim_ttl_s\":1}".utf8)
        switch Int.random(in: 0..<10, using: &random) {
        case 0:
            // Two Content-Length headers, equal or not: ambiguous framing.
            let second = pick(["\(body.count)", "\(body.count + 1)", "0", "\(body.count), \(body.count)"], &random)
            let head = "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nContent-Length: \(body.count)\r\nContent-Length: \(second)\r\n\r\n"
            return FuzzRequest(
                bytes: Array(head.utf8) + body,
                summary: "two Content-Length \(body.count) and \(second)",
                expectation: .exactly(400, "bad_request"),
                unreadable: true
            )
        case 1:
            return Self.request(
                "GET",
                "/v1/status",
                extraHeaders: ["Host: other", pick(["Host: third", "Host:", "Host: a b"], &random)],
                summary: "two or three Host headers",
                .resultOrDocumented
            )
        case 2:
            let name = pick(["Slotgate-Wait", "Slotgate-Priority", "Slotgate-Holder", "Slotgate-Lease"], &random)
            let values = pick([("0", "5"), ("0", "x"), ("1", "-1"), ("a", "b"), (lease(&random), Self.unknownLease)], &random)
            return Self.request(
                "POST",
                "/api/v2/sessions",
                body: Array("{\"agent\":\"h/x\",\"messages\":\"m\",\"queue\":false}".utf8),
                extraHeaders: ["Slotgate-Wait: 0", "\(name): \(values.0)", "\(name): \(values.1)"],
                summary: "proxied create with two \(name) \(values)",
                .forwarded
            )
        case 3:
            // Just under and just over the 80 KiB head limit.
            let size = pick([60_000, 79_000, 81_000, 120_000], &random)
            var request = Self.request(
                "GET",
                "/v1/status",
                extraHeaders: ["X-Big: " + String(repeating: "b", count: size)],
                summary: "a \(size)-byte header",
                .resultOrDocumented
            )
            request.unreadable = size > 80 * 1024
            if request.unreadable { request.expectation = .exactly(400, "bad_request") }
            return request
        case 4:
            let count = pick([10, 500, 999, 1001, 2000], &random)
            let headers = (0..<count).map { "X-Dup: \($0)" }
            var request = Self.request("GET", "/v1/status", extraHeaders: headers, summary: "\(count) X-Dup headers", .resultOrDocumented)
            request.unreadable = count + 1 > 1000  // with Host
            if request.unreadable { request.expectation = .exactly(400, "bad_request") }
            return request
        case 5:
            // A header value with bytes that are not UTF-8, or a folded line.
            let bad: [UInt8] = pick([[0xFF, 0xFE], [0xC3, 0x28], [0xE2, 0x82], [0xC0, 0xAF]], &random)
            var bytes = Array("GET /v1/status HTTP/1.1\r\nHost: slotgate\r\nSlotgate-Holder: a".utf8) + bad + Array("b\r\n\r\n".utf8)
            if Bool.random(using: &random) {
                bytes = Array("POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nX-A: 1\r\n folded\r\nContent-Length: 2\r\n\r\n{}".utf8)
                return FuzzRequest(bytes: bytes, summary: "an obsolete folded header", expectation: .resultOrDocumented, waits: true)
            }
            return FuzzRequest(bytes: bytes, summary: "a header value not UTF-8", expectation: .resultOrDocumented)
        case 6:
            let line = pick(["NoColon", ": empty-name", "Bad Name: x", "X-Ctl: a\u{1}b", "X-Nul: a\u{0}b"], &random)
            let head = "GET /v1/status HTTP/1.1\r\nHost: slotgate\r\n\(line)\r\n\r\n"
            return FuzzRequest(
                bytes: Array(head.utf8),
                summary: "header line \(line.debugDescription)",
                expectation: .exactly(400, "bad_request"),
                unreadable: true
            )
        case 7:
            // Odd but legal: no Host, an Expect, a content type the daemon does not read, Connection: keep-alive.
            let head = pick(
                [
                    "POST /v1/leases HTTP/1.1\r\nContent-Length: \(body.count)\r\n\r\n",
                    "POST /v1/leases HTTP/1.1\r\nHost: s\r\nExpect: 100-continue\r\nContent-Length: \(body.count)\r\n\r\n",
                    "POST /v1/leases HTTP/1.1\r\nHost: s\r\nContent-Type: text/plain; charset=latin1\r\nContent-Length: \(body.count)\r\n\r\n",
                    "POST /v1/leases HTTP/1.1\r\nHost: s\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nContent-Length: \(body.count)\r\n\r\n",
                ],
                &random
            )
            return FuzzRequest(
                bytes: Array(head.utf8) + body,
                summary: "odd headers \(head.prefix(60).debugDescription)",
                expectation: .resultOrDocumented
            )
        case 8:
            // An HTTP/1.0 request, and other versions.
            let version = pick(["HTTP/1.0", "HTTP/1.1", "HTTP/0.9", "HTTP/2.0", "HTTP/1.12", "http/1.1"], &random)
            let head = "GET /v1/status \(version)\r\nHost: slotgate\r\n\r\n"
            let readable = version == "HTTP/1.0" || version == "HTTP/1.1"
            return FuzzRequest(
                bytes: Array(head.utf8),
                summary: "version \(version)",
                expectation: readable ? .resultOrDocumented : .exactly(400, "bad_request"),
                unreadable: !readable
            )
        default:
            // The body is 12 bytes: optional whitespace around the value is allowed, any other spelling is not.
            let value = pick(["-1", "+12", "0x0c", " 12", "12 ", "1.2e1", "012", "18446744073709551628"], &random)
            let head = "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nContent-Length: \(value)\r\n\r\n{\"wait_s\":0}"
            let readable = value == " 12" || value == "12 " || value == "012"
            return FuzzRequest(
                bytes: Array(head.utf8),
                summary: "Content-Length \(value.debugDescription)",
                expectation: readable ? .resultOrDocumented : .exactly(400, "bad_request"),
                unreadable: !readable
            )
        }
    }

    /// Chunked bodies: good ones (several chunks, extensions, trailers) and bad ones.
    private func chunkedCase(using random: inout SplitMix64) -> FuzzRequest {
        let json = Array("{\"wait_s\":0,\"claim_ttl_s\":1,\"holder\":\"chunked\"}".utf8)
        let head = "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nTransfer-Encoding: chunked\r\n\r\n"
        switch Int.random(in: 0..<8, using: &random) {
        case 0, 1:
            // Good: split anywhere, maybe with extensions and a trailer.
            var body: [UInt8] = []
            var rest = json[...]
            while !rest.isEmpty {
                let size = Int.random(in: 1...rest.count, using: &random)
                let extensionText = Bool.random(using: &random) ? ";name=value" : ""
                body += Array("\(String(size, radix: 16))\(extensionText)\r\n".utf8) + rest.prefix(size) + Array("\r\n".utf8)
                rest = rest.dropFirst(size)
            }
            body += Array((Bool.random(using: &random) ? "0\r\nX-Trailer: t\r\n\r\n" : "0\r\n\r\n").utf8)
            return FuzzRequest(bytes: Array(head.utf8) + body, summary: "a good chunked body", expectation: .resultOrDocumented)
        case 2:
            let size = pick(["zz", "-1", "ffffffffffffffffffff", "0x10", " ", "1 1"], &random)
            return FuzzRequest(
                bytes: Array((head + "\(size)\r\n{}\r\n0\r\n\r\n").utf8),
                summary: "chunk size \(size.debugDescription)",
                expectation: .exactly(400, "bad_request"),
                unreadable: true
            )
        case 3:
            // No final chunk, or a chunk shorter than its size, then the client stops sending.
            let text = pick(["\(String(json.count, radix: 16))\r\n", "ff\r\n"], &random)
            return FuzzRequest(
                bytes: Array(head.utf8) + Array(text.utf8) + json + Array("\r\n".utf8),
                summary: "half-closed: chunked body without its last chunk",
                expectation: .exactly(400, "bad_request"),
                unreadable: true
            )
        case 4:
            // Transfer-Encoding and Content-Length together: the smuggling classic.
            let request =
                "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "\(String(json.count, radix: 16))\r\n"
            return FuzzRequest(
                bytes: Array(request.utf8) + json + Array("\r\n0\r\n\r\n".utf8),
                summary: "Transfer-Encoding with Content-Length",
                expectation: .exactly(400, "bad_request"),
                unreadable: true
            )
        case 5:
            // Only `chunked` alone is a coding the daemon reads; the parser itself refuses a last coding other than chunked.
            let encoding = pick(["gzip, chunked", "chunked, chunked", "identity", "chunked;q=1", "CHUNKED", "xchunked", " chunked"], &random)
            let request = "POST /v1/leases HTTP/1.1\r\nHost: slotgate\r\nTransfer-Encoding: \(encoding)\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
            let readable = encoding == "CHUNKED" || encoding == " chunked"
            return FuzzRequest(
                bytes: Array(request.utf8),
                summary: "Transfer-Encoding \(encoding)",
                expectation: readable ? .resultOrDocumented : .exactly(400, "bad_request"),
                waits: true,
                unreadable: !readable
            )
        case 6:
            // A chunk without its CRLF.
            return FuzzRequest(
                bytes: Array((head + "2\r\n{}XX0\r\n\r\n").utf8),
                summary: "a chunk without its CRLF",
                expectation: .exactly(400, "bad_request"),
                unreadable: true
            )
        default:
            // Over the 64 KiB body limit in many small chunks.
            var body: [UInt8] = []
            for _ in 0..<17 { body += Array("1000\r\n".utf8) + [UInt8](repeating: 0x20, count: 4096) + Array("\r\n".utf8) }
            body += Array("0\r\n\r\n".utf8)
            return FuzzRequest(
                bytes: Array(head.utf8) + body,
                summary: "a chunked body over 64 KiB",
                expectation: .exactly(413, "body_too_large"),
                unreadable: true
            )
        }
    }

    /// JSON bodies: huge numbers, deep nesting, invalid UTF-8, duplicate keys, odd literals.
    private func jsonCase(using random: inout SplitMix64) -> FuzzRequest {
        let field = pick(["wait_s", "claim_ttl_s", "priority", "holder"], &random)
        var body: [UInt8]
        switch Int.random(in: 0..<7, using: &random) {
        case 0:
            let number = pick(
                [
                    "1e400", "-1e400", "1e-400", "99999999999999999999999", "-99999999999999999999999", "123456789012345678901234567890.5",
                    "0.000000000000000000000000001", "1E2", "-0", "0e0", "NaN", "Infinity", "-Infinity", "0x10", "01", ".5", "5.", "1_000",
                ],
                &random
            )
            body = Array("{\"\(field)\":\(number),\"claim_ttl_s\":1}".utf8)
            if field == "claim_ttl_s" { body = Array("{\"wait_s\":0,\"claim_ttl_s\":\(number)}".utf8) }
        case 1:
            let depth = pick([64, 600, 10_000, 100_000], &random)
            let (open, close) = pick([("[", "]"), ("{\"a\":", "}")], &random)
            let inner = String(repeating: open, count: depth) + "0" + String(repeating: close, count: depth)
            let wrapped = Bool.random(using: &random) ? "{\"\(field)\":\(inner)}" : inner
            body = Array(wrapped.utf8)
            if Bool.random(using: &random) { body = Array(String(repeating: open, count: depth).utf8) }  // never closed
        case 2:
            // Strings that are not UTF-8, lone surrogates, a BOM.
            let bad: [UInt8] = pick([[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0x80]], &random)
            body = Array("{\"wait_s\":0,\"claim_ttl_s\":1,\"holder\":\"a".utf8) + bad + Array("b\"}".utf8)
            if Bool.random(using: &random) {
                body = Array(
                    pick(["{\"holder\":\"\\ud800\",\"wait_s\":0}", "{\"holder\":\"\\udc00x\",\"wait_s\":0}", "\u{FEFF}{\"wait_s\":0}"], &random).utf8
                )
            }
        case 3:
            // Duplicate keys, the second one wrong, or good.
            let second = pick(["\"x\"", "-1", "0", "null", "1e400"], &random)
            body = Array("{\"wait_s\":0,\"claim_ttl_s\":1,\"\(field)\":\(field == "holder" ? "\"a\"" : "0"),\"\(field)\":\(second)}".utf8)
        case 4:
            let value = pick(["null", "[]", "{}", "\"\"", "true", "[0]", "{\"a\":1}", "\"0\"", "\"\\u0000\""], &random)
            body = Array("{\"wait_s\":0,\"claim_ttl_s\":1,\"\(field)\":\(value)}".utf8)
            if field == "wait_s" { body = Array("{\"claim_ttl_s\":1,\"wait_s\":\(value)}".utf8) }
        case 5:
            // Long strings and long bodies near the limit.
            let length = pick([128, 129, 10_000, 65_000, 65_536, 65_537], &random)
            body = Array("{\"wait_s\":0,\"claim_ttl_s\":1,\"holder\":\"\(String(repeating: "h", count: max(0, length - 40)))\"}".utf8)
        default:
            body = Array(pick(["", " ", "{}garbage", "{} {}", "{\"wait_s\":0}\u{0}", "\t{\"wait_s\" :\n0 }\r\n"], &random).utf8)
        }
        let target = pick(["/v1/leases", "/v1/leases", "/v1/leases/\(lease(&random))/session", "/v1/leases/\(lease(&random))/renew"], &random)
        let printable = String(decoding: body.prefix(60), as: UTF8.self).debugDescription
        var request = Self.request("POST", target, body: body, summary: "POST \(target) \(printable) (\(body.count) bytes)", .resultOrDocumented)
        request.waits = target == "/v1/leases" && Self.waits(body)
        if body.count > 64 * 1024 {
            request.expectation = .exactly(413, "body_too_large")
            request.unreadable = true
        }
        return request
    }

    /// Platform routes through the proxy: creates that take a slot, reads, routes `proxy.allow` refuses, tricky paths.
    private func proxied(using random: inout SplitMix64) -> FuzzRequest {
        let session = pick(["ses_fuzz", "s1", "%2e%2e", "x" + String(repeating: "y", count: 300)], &random)
        switch Int.random(in: 0..<8, using: &random) {
        case 0, 1:
            let body = pick(
                [
                    "{\"agent\":\"h/x\",\"messages\":\"m\",\"queue\":false}", "{\"agent\":\"h/x\",\"messages\":\"m\"}", "{}", "{\"agent\":5}", "[",
                    "",
                ],
                &random
            )
            let wait = pick(["0", "0", "0.1"], &random)
            var request = Self.request(
                "POST",
                "/api/v2/sessions",
                body: Array(body.utf8),
                extraHeaders: ["Slotgate-Wait: \(wait)", "Slotgate-Holder: fuzz-proxy"],
                summary: "proxied create \(body.prefix(40)) wait \(wait)",
                .forwarded
            )
            request.waits = true
            return request
        case 2:
            let target = pick(["/api/v2/sessions", "/api/v2/sessions?limit=1&limit=x", "/api/v2/sessions/quota", "/api/v2/quota/tokens"], &random)
            return Self.request("GET", target, summary: "GET \(target)", .forwarded)
        case 3:
            let target = pick(["/api/v2/sessions/\(session)", "/api/v2/sessions/\(session)/status", "/api/v2/sessions/\(session)/nothing"], &random)
            let method = pick(["GET", "DELETE", "POST"], &random)
            return Self.request(
                method,
                target,
                body: method == "POST" ? Array("{}".utf8) : nil,
                summary: "\(method) \(target.prefix(60))",
                .forwarded
            )
        case 4:
            let target = pick(["/api/v2/vaults", "/api/v2/agents", "/api/v2/webhooks/w1", "/api/v2/schedules/s1", "/api/v2/"], &random)
            return Self.request(pick(["GET", "DELETE", "POST", "PUT"], &random), target, summary: "refused \(target)", .forwarded)
        default:
            let target = pick(
                [
                    "/api/v2/sessions/../vaults", "/api/v2/sessions/%2e%2e/vaults", "/api/v2/sessions%2F..%2Fvaults", "/api/v2/sessions/..;/vaults",
                    "/api/v2//vaults", "/api/v2/sessions/%252e%252e/vaults", "/api/v2/sessions/%2E%2E/%2E%2E/v1/status", "/api/v2/./sessions/quota",
                    "/api/v2/sessions/quota/..", "/api/v2/sessions/%zz", "/api/v2/sessions/%", "/api/v2/sessions/%c0%ae%c0%ae/vaults",
                    "/api/v2/sessions\\..\\vaults", "/api/v2/sessions/%00", "/api/v2/sessions/%ff", "/api/v2/quota/../../v1/status",
                ],
                &random
            )
            return Self.request("GET", target, summary: "tricky \(target)", .forwarded)
        }
    }

    // MARK: Pieces

    /// A path segment: traversal, encodings good and bad, invalid UTF-8, empty, very long.
    static func pathSegment(_ random: inout SplitMix64) -> [UInt8] {
        let choices: [[UInt8]] = [
            Array("..".utf8), Array(".".utf8), Array("%2e%2e".utf8), Array("%2E".utf8), Array("%2f".utf8), Array("a%2Fb".utf8), [],
            Array("%zz".utf8), Array("%".utf8), Array("%4".utf8), Array("%00".utf8), Array("%ff%fe".utf8), Array("%C3%A9".utf8),
            [0xFF], [0xC3, 0x28], [0xE2, 0x82, 0xAC], Array("..%2f..".utf8), Array("%252e".utf8), Array(";x=1".utf8), Array("~user".utf8),
            Array(String(repeating: "L", count: 9000).utf8), Array("status".utf8), Array("leases".utf8), Array("%76%31".utf8),
        ]
        return choices[Int.random(in: 0..<choices.count, using: &random)]
    }

    /// A query string: duplicate keys, bad values, empty parts, bad escapes.
    static func query(_ random: inout SplitMix64) -> String {
        let parts = [
            "stream=1", "stream=maybe", "stream=1&stream=0", "all=1", "cancel_session=maybe", "cancel_session=1&cancel_session=1", "a=%zz", "=",
            "&&", "a", "a=b=c", "%00=%00", "x=%ff", "wait_s=5", "%2e%2e=1",
        ]
        var query = (0..<Int.random(in: 1...3, using: &random)).map { _ in parts[Int.random(in: 0..<parts.count, using: &random)] }.joined(
            separator: "&"
        )
        if Int.random(in: 0..<10, using: &random) == 0 { query += "&" + hugeQuery(&random) }
        return query
    }

    static func hugeQuery(_ random: inout SplitMix64) -> String {
        "pad=" + String(repeating: "q", count: Int.random(in: 4_000...40_000, using: &random))
    }

    /// Whether a lease request with this body may wait: its `wait_s` is missing or above 0 (or it is no lease
    /// request at all, which is answered at once anyway).
    static func waits(_ body: [UInt8]) -> Bool {
        // An empty body is `{}`: the wait is `queue.default_wait_s`, and the daemon takes any request without
        // `wait_s` as one that may wait, whatever that default (0 in the test).
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) { return true }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return false }
        guard let wait = object["wait_s"] as? NSNumber else { return object["wait_s"] == nil || object["wait_s"] is NSNull }
        return wait.doubleValue != 0
    }

    // MARK: Building requests

    static func request(
        _ method: String,
        _ target: String,
        body: [UInt8]? = nil,
        extraHeaders: [String] = [],
        summary: String,
        _ expectation: Expectation
    ) -> FuzzRequest {
        request(method, Array(target.utf8), body: body, extraHeaders: extraHeaders, summary: summary, expectation)
    }

    static func request(
        _ method: String,
        _ target: [UInt8],
        body: [UInt8]? = nil,
        extraHeaders: [String] = [],
        summary: String,
        _ expectation: Expectation
    ) -> FuzzRequest {
        let sample = MalformedRequests.request(method, "", body: body, extraHeaders: extraHeaders, summary: summary, expectation)
        // The request line with the target as bytes (it may not be UTF-8).
        let prefix = Array("\(method) ".utf8)
        var bytes = prefix + target + Array(sample.bytes[prefix.count...])
        bytes = keptAlive(bytes)
        return FuzzRequest(bytes: bytes, summary: summary, expectation: expectation)
    }

    /// The request without its `Connection: close` header, so that the connection can carry more.
    static func keptAlive(_ bytes: [UInt8]) -> [UInt8] {
        let header = Array("Connection: close\r\n".utf8)
        guard let range = bytes.firstRange(of: header) else { return bytes }
        return Array(bytes[..<range.lowerBound]) + Array(bytes[range.upperBound...])
    }
}
