//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import NIOCore
import NIOFoundationCompat
import SlotgateCore

/// The JSON shapes of agp-api.md §4, read tolerantly: unknown keys are ignored, nullable keys may be
/// null or missing, and unknown status strings become `SessionStatus.unknown`.
enum WireFormat {
    /// `GET /sessions/quota`.
    struct Quota: Decodable {
        var scope: String?
        var limit: Int
        var active: Int
    }

    /// `GET /quota/tokens`.
    struct TokenQuota: Decodable {
        var limit: Int?
        var used: Int?
        var remaining: Int?
        var windowStart: String?
        var windowEnd: String?

        enum CodingKeys: String, CodingKey {
            case limit
            case used
            case remaining
            case windowStart = "window_start"
            case windowEnd = "window_end"
        }
    }

    /// One item of `GET /sessions`.
    struct SessionSummary: Decodable {
        var id: String
        var status: StatusValue
    }

    /// `GET /sessions`: `{"items": [...], "total": n, "page": p}`.
    struct Page: Decodable {
        var items: [SessionSummary]
        var total: Int
        var page: Int?
    }

    /// `GET /sessions/{id}/status`.
    struct StatusBody: Decodable {
        var status: StatusValue
    }

    /// The answer to a create: a Session whose `status` is a SessionStatus object (or, tolerated, a bare string).
    struct CreatedSession: Decodable {
        var id: String
        var status: StatusValue?
    }

    /// A status that is either a bare string or an object with a `status` key.
    struct StatusValue: Decodable {
        var value: SessionStatus

        init(from decoder: any Decoder) throws {
            if let text = try? decoder.singleValueContainer().decode(String.self) {
                value = SessionStatus(rawValue: text)
            } else {
                value = try StatusBody(from: decoder).status.value
            }
        }
    }

    /// An error body: `{"detail": "text"}`, `{"detail": [{"msg": ...}, ...]}` (422) or `{"message": "text"}` (gateway).
    struct ErrorBody: Decodable {
        var detail: Detail?
        var message: String?

        enum Detail: Decodable {
            case text(String)
            case validation([ValidationItem])
            case other

            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let text = try? container.decode(String.self) {
                    self = .text(text)
                } else if let items = try? container.decode([ValidationItem].self) {
                    self = .validation(items)
                } else {
                    self = .other
                }
            }
        }

        struct ValidationItem: Decodable {
            var msg: String?
            var loc: [Location]?

            enum Location: Decodable {
                case key(String)
                case index(Int)

                init(from decoder: any Decoder) throws {
                    let container = try decoder.singleValueContainer()
                    if let index = try? container.decode(Int.self) {
                        self = .index(index)
                    } else {
                        self = .key(try container.decode(String.self))
                    }
                }

                var text: String {
                    switch self {
                    case .key(let key): key
                    case .index(let index): String(index)
                    }
                }
            }
        }
    }

    /// Reads the platform's message from an error body, whichever shape it has; nil when there is none.
    ///
    /// A validation list becomes its `msg`s joined with "; ", each prefixed by its location (`body.agent: Field required`).
    /// - Parameter body: the answer's body.
    static func errorMessage(_ body: ByteBuffer) -> String? {
        guard body.readableBytes > 0, let decoded = try? JSONDecoder().decode(ErrorBody.self, from: body) else {
            return nil
        }
        switch decoded.detail {
        case .text(let text):
            return text
        case .validation(let items):
            let messages = items.compactMap { item -> String? in
                guard let msg = item.msg else { return nil }
                guard let loc = item.loc, !loc.isEmpty else { return msg }
                return "\(loc.map(\.text).joined(separator: ".")): \(msg)"
            }
            return messages.isEmpty ? nil : messages.joined(separator: "; ")
        case .other, .none:
            return decoded.message
        }
    }

    /// Decodes a body, or nil with the reason.
    static func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer) -> Result<T, DecodingFailure> {
        do {
            return .success(try JSONDecoder().decode(type, from: body))
        } catch let error as DecodingError {
            return .failure(DecodingFailure(reason: describe(error)))
        } catch {
            return .failure(DecodingFailure(reason: "not JSON"))
        }
    }

    /// Why a body could not be read, without any of its content.
    struct DecodingFailure: Error {
        var reason: String
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
            return keys.isEmpty ? "the body" : keys.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing key \(key.stringValue) in \(path(context))"
        case .valueNotFound(_, let context):
            return "null at \(path(context))"
        case .typeMismatch(_, let context):
            return "wrong type at \(path(context))"
        case .dataCorrupted(let context):
            return "malformed JSON at \(path(context))"
        @unknown default:
            return "malformed JSON"
        }
    }
}
