//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Testing

/// The end-to-end tests: the real `slotgated` and `agp-sim` binaries, real Unix sockets, one simulator and one
/// daemon per test.
///
/// Serialized: many tests measure time against the poll interval, and on two cores two daemons and two
/// simulators of parallel tests would compete for the CPU. The nested suites inherit the trait.
@Suite("End to end", .serialized)
struct EndToEnd {}
