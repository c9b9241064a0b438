//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One answer: status, headers (names lower-cased) and the body.
struct HTTPReply: Sendable, CustomStringConvertible {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// The body as a JSON object, or nil.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])) as? [String: Any]
    }

    /// `json[key]` as a string.
    func string(_ key: String) -> String? { json?[key] as? String }

    var description: String { "HTTP \(status) \(text.prefix(600))" }
}

/// HTTP over the daemon's Unix socket and to the simulator, with one client for the whole test run.
enum E2EHTTP {
    /// A client with room for hundreds of concurrent long-polls on one socket (the default pool allows 8).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(5), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
        configuration.timeout = .init(connect: .seconds(5))
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The `http+unix` URL of `uri` on the socket at `socketPath`.
    static func unixURL(_ socketPath: String, _ uri: String) throws -> String {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: uri) else {
            throw HarnessError("cannot build an http+unix URL for \(uri)")
        }
        return url.absoluteString
    }

    /// Sends one request and collects the whole answer.
    static func send(
        _ method: HTTPMethod,
        url: String,
        headers: [(String, String)] = [],
        body: [UInt8]? = nil,
        timeout: Duration = .seconds(30)
    ) async throws -> HTTPReply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "Content-Type", value: "application/json")
            }
        }
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        let response = try await client.execute(request, timeout: .milliseconds(milliseconds))
        let collected = try await response.body.collect(upTo: 32 * 1024 * 1024)
        var fields: [String: String] = [:]
        for (name, value) in response.headers {
            let key = name.lowercased()
            fields[key] = fields[key].map { $0 + ", " + value } ?? value
        }
        return HTTPReply(status: Int(response.status.code), headers: fields, body: Array(collected.readableBytesView))
    }
}

/// A JSON body from a dictionary literal.
func jsonBody(_ object: [String: any Sendable]) -> [UInt8] {
    var plain: [String: Any] = [:]
    for (key, value) in object { plain[key] = value }
    let data = (try? JSONSerialization.data(withJSONObject: plain, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Array(data)
}
