//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import SlotgateCore
import SlotgateUpstream

/// The platform client reads and cancels single sessions for the gatekeeper's releases.
extension AGPClient: SessionProbe {}
