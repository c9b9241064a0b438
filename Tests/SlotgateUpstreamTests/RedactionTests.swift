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
import Testing

@testable import SlotgateUpstream

@Suite("API key redaction")
struct RedactionTests {
    static let secret = "hk-fake-0123456789abcdef"

    @Test func theKeyNeverPrints() throws {
        let key = try #require(APIKey("  \(Self.secret)\n"))
        #expect(key.secret == Self.secret)
        #expect(String(describing: key) == "<redacted>")
        #expect(!String(reflecting: key).contains(Self.secret))
        #expect(!"\(key)".contains(Self.secret))
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains(Self.secret))
        let configuration = AGPClientConfiguration(apiKey: key)
        #expect(!String(describing: configuration).contains(Self.secret))
        #expect(!String(reflecting: configuration).contains(Self.secret))
        #expect(APIKey(" \n ") == nil)
    }

    @Test func errorsNeverContainTheKeyEvenWhenThePlatformEchoesIt() throws {
        let capture = LogCapture()
        let key = try #require(APIKey(Self.secret))
        let client = AGPClient(
            configuration: AGPClientConfiguration(baseURL: "http://127.0.0.1:9/api/v2", apiKey: key),
            httpClient: HTTPClient.shared,
            logger: capture.logger()
        )
        let body = ByteBuffer(string: #"{"detail": "key Bearer \#(Self.secret) is not valid"}"#)
        let error = client.httpError(AGPResponse(status: 401, headers: [:], body: body), route: "GET /sessions/quota", attempts: 1)
        #expect(error.status == 401)
        #expect(error.message == "key Bearer <redacted> is not valid")
        #expect(!String(describing: error).contains(Self.secret))
        #expect(!String(reflecting: error).contains(Self.secret))
        #expect(!error.localizedDescription.contains(Self.secret))
        #expect(!(error.errorDescription ?? "").contains(Self.secret))
        #expect(!capture.all.isEmpty)
        #expect(capture.all.allSatisfy { !$0.contains(Self.secret) })
    }

    @Test func forwardedHeadersLoseCredentialsAndHopByHopHeaders() {
        let headers: HTTPHeaders = [
            "Authorization": "Bearer client-key", "Connection": "close, X-Hop", "X-Hop": "1", "Host": "example",
            "Content-Length": "3", "Content-Type": "application/json", "X-Trace": "t",
        ]
        let passed = AGPClient.passThroughHeaders(headers)
        #expect(passed["Authorization"].isEmpty)
        #expect(passed["X-Hop"].isEmpty)
        #expect(passed["Host"].isEmpty)
        #expect(passed["Connection"].isEmpty)
        #expect(passed["Content-Length"].isEmpty)
        #expect(passed["Content-Type"] == ["application/json"])
        #expect(passed["X-Trace"] == ["t"])
    }
}
