//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import NIOCore
import Testing

@testable import SlotgateServer

/// The request-body reader (`JSONSerialization` underneath) keeps JSON's types apart: a boolean is never a number
/// and a number never a boolean, whatever its value.
@Suite struct JSONValueTests {
    static func read(_ text: String) throws(APIError) -> [String: JSONValue] {
        try JSONValue.object(from: ByteBuffer(string: text))
    }

    @Test func typesStayApart() throws {
        let object = try Self.read(
            #"{"t": true, "f": false, "zero": 0, "one": 1, "oneDouble": 1.0, "minusZero": -0, "exp": 1e3, "big": 12345678901234567890, "half": 0.5, "s": "a\"b\\c\u00e9\ud83d\ude80", "n": null, "a": [1, true, "x", null, {"k": false}], "o": {"in": [0]}}"#
        )
        #expect(object["t"] == .bool(true))
        #expect(object["f"] == .bool(false))
        #expect(object["zero"] == .number(0))
        #expect(object["one"] == .number(1))
        #expect(object["oneDouble"] == .number(1))
        #expect(object["minusZero"] == .number(0))
        #expect(object["exp"] == .number(1000))
        #expect(object["big"] == .number(12_345_678_901_234_567_890))
        #expect(object["half"] == .number(0.5))
        #expect(object["s"] == .string("a\"b\\cé🚀"))
        #expect(object["n"] == .null)
        #expect(object["a"] == .array([.number(1), .bool(true), .string("x"), .null, .object(["k": .bool(false)])]))
        #expect(object["o"] == .object(["in": .array([.number(0)])]))
        #expect(object.count == 13)
    }

    @Test func emptyAndWhitespaceBodiesAreEmptyObjects() throws {
        #expect(try Self.read("").isEmpty)
        #expect(try Self.read(" \n\t\r ").isEmpty)
        #expect(try Self.read("{}").isEmpty)
    }

    @Test(arguments: [
        (#"[1]"#, "not an array"), (#""x""#, "not a string"), (#"5"#, "not a number"), (#"true"#, "not a boolean"),
        (#"null"#, "not null"), (#"{"a":1"#, "not valid JSON"), (#"{"a":01}"#, "not valid JSON"),
        (#"{"a":NaN}"#, "not valid JSON"), (#"{"a":1} x"#, "not valid JSON"), ("{\"a\":\"\u{FFFD}\"\u{0}}", "not valid JSON"),
        ("{\"a\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}", "not valid JSON"),
    ])
    func nonObjectsAndBadTextAreRefused(body: String, message: String) {
        do {
            _ = try Self.read(body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.code == "bad_request")
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
