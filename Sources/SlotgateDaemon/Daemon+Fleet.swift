//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import Logging
import PostgresNIO
import SlotgateConfig
import SlotgateFleet

extension Daemon {
    /// Shared mode's database, when `shared.postgres_url` names one.
    static func fleetDatabase(_ settings: SlotgateSettings) throws(StartError) -> FleetDatabaseURL? {
        guard let text = settings.postgresURL, !text.isEmpty else { return nil }
        do {
            // The password, when the URL has none: the systemd credential `postgres-password`.
            let credential = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"].map { $0 + "/postgres-password" }
            return try FleetDatabaseURL(text, passwordFile: credential.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil })
        } catch {
            throw StartError(description: error.description, exitCode: 78)
        }
    }

    /// Creates or migrates the fleet's tables before the socket opens. A database that does not answer within
    /// `attempts` tries (at most 10 s each, about 30 s in all, inside systemd's start timeout) stops the start with
    /// a message naming `shared.postgres_url`; systemd restarts the unit.
    static func migrateFleet(_ client: PostgresClient, url: FleetDatabaseURL, logger: Logger, attempts: Int = 3) async throws(StartError) {
        var lastError = ""
        for attempt in 1...attempts {
            do {
                try await FleetSchema.migrate(client, logger: logger)
                logger.info("joined the fleet", metadata: ["database": "\(url)"])
                return
            } catch let error as FleetSchemaTooNew {
                throw StartError(description: "shared.postgres_url: \(error)", exitCode: 78)
            } catch {
                lastError = String(describing: error)
                logger.warning("the fleet's database does not answer yet", metadata: ["database": "\(url)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        throw StartError(description: "shared.postgres_url: cannot reach \(url): \(lastError)", exitCode: 69)
    }
}
