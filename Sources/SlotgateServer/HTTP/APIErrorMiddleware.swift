//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import HTTPTypes
import Hummingbird
import Logging

/// Turns every failure into the documented error body: unknown paths (404 `not_found`), known paths with the
/// wrong method (405 `method_not_allowed`), bodies over the limit (413, answered on the declared length before
/// reading), malformed requests (400), and anything unexpected (500, logged).
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let limit = path.hasPrefix("/api/v2/") ? APILimits.proxyBodyBytes : APILimits.bodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > limit {
            throw APIError.bodyTooLarge(limit: limit)
        }
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound where error.body == nil:
                if let allowed = Self.allowedMethods(path), !allowed.contains(request.method.rawValue) {
                    var answer = APIError.methodNotAllowed(request.method, path)
                    answer.extraHeaders[.allow] = allowed.joined(separator: ", ")
                    throw answer
                }
                throw APIError.notFound(path)
            case .contentTooLarge:
                throw APIError.bodyTooLarge(limit: limit)
            case .badRequest:
                throw APIError.badRequest(error.body ?? "The request is malformed.")
            case .methodNotAllowed:
                throw APIError.methodNotAllowed(request.method, path)
            default:
                throw APIError(error.status, "http_\(error.status.code)", error.body ?? error.status.reasonPhrase)
            }
        } catch is CancellationError {
            throw APIError(.serviceUnavailable, "shutting_down", "The request was cancelled.")
        } catch {
            context.logger.error("unexpected error answering a request", metadata: ["error": "\(error)", "path": "\(path)"])
            throw APIError(.internalServerError, "internal", "The daemon failed to answer; see its log.")
        }
    }

    /// The methods a known path accepts, or nil for an unknown path.
    static func allowedMethods(_ path: String) -> [String]? {
        if path.hasPrefix("/api/v2/") { return ["GET", "POST", "PUT", "PATCH", "DELETE"] }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        switch parts.count {
        case 1 where parts[0] == "metrics" || parts[0] == "healthz": return ["GET"]
        case 2 where parts[0] == "v1" && parts[1] == "status": return ["GET"]
        case 2 where parts[0] == "v1" && parts[1] == "leases": return ["GET", "POST"]
        case 3 where parts[0] == "v1" && parts[1] == "leases": return ["GET", "DELETE"]
        case 4 where parts[0] == "v1" && parts[1] == "leases" && (parts[3] == "session" || parts[3] == "renew"): return ["POST"]
        default: return nil
        }
    }
}
