//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

import Foundation
import SlotgateCore

/// The p-th quantile of sorted samples.
func percentile(_ sorted: [Duration], _ p: Double) -> Duration {
    sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

/// Prints one line: count, mean, p50, p99 and max of the samples.
func report(_ name: String, _ samples: [Duration]) {
    let sorted = samples.sorted()
    let total = samples.reduce(Duration.zero, +)
    let mean = total / samples.count
    func ns(_ d: Duration) -> String { "\(d.nanoseconds) ns" }
    print(
        "\(name): n=\(samples.count) mean=\(ns(mean)) p50=\(ns(percentile(sorted, 0.5))) p99=\(ns(percentile(sorted, 0.99))) max=\(ns(sorted.last ?? .zero))"
    )
}

/// Formats a duration in milliseconds with three decimals.
func ms(_ duration: Duration) -> String {
    String(format: "%.3f ms", duration.seconds * 1000)
}

/// `n=… p50=… p99=…` of wall-clock samples in milliseconds, or nil when there are none.
func latencies(_ samples: [Duration]) -> String? {
    let sorted = samples.sorted()
    guard !sorted.isEmpty else { return nil }
    return "n=\(sorted.count) p50=\(ms(percentile(sorted, 0.5))) p99=\(ms(percentile(sorted, 0.99)))"
}
