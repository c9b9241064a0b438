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
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > Self.bodyLimit(request.uri.path) {
            throw APIError.bodyTooLarge(limit: Self.bodyLimit(request.uri.path))
        }
        do {
            return try await next(request, context)
        } catch {
            // The mapping is synchronous: this frame stays on the task of every parked request, so it keeps little.
            throw Self.answer(for: error, request: request, logger: context.logger)
        }
    }

    /// The body limit of a path: the proxy's is the platform's own.
    static func bodyLimit(_ path: String) -> Int {
        path.hasPrefix("/api/v2/") ? APILimits.proxyBodyBytes : APILimits.bodyBytes
    }

    /// The documented answer for an error a route threw.
    static func answer(for error: any Error, request: Request, logger: Logger) -> APIError {
        let path = request.uri.path
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .notFound where error.body == nil:
                if let allowed = allowedMethods(path), !allowed.contains(request.method.rawValue) {
                    var answer = APIError.methodNotAllowed(request.method, path)
                    answer.extraHeaders[.allow] = allowed.joined(separator: ", ")
                    return answer
                }
                return APIError.notFound(path)
            case .contentTooLarge:
                return APIError.bodyTooLarge(limit: bodyLimit(path))
            case .badRequest:
                return APIError.badRequest(error.body ?? "The request is malformed.")
            case .methodNotAllowed:
                return APIError.methodNotAllowed(request.method, path)
            default:
                return APIError(error.status, "http_\(error.status.code)", error.body ?? error.status.reasonPhrase)
            }
        case is CancellationError:
            return APIError(.serviceUnavailable, "shutting_down", "The request was cancelled.")
        default:
            logger.error("unexpected error answering a request", metadata: ["error": "\(error)", "path": "\(path)"])
            return APIError(.internalServerError, "internal", "The daemon failed to answer; see its log.")
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
