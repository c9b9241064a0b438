//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// "Did you mean" for unknown keys: the nearest known name by edit distance, else a known key that ends
/// with the same last component (`poll_interval_s` at the top level suggests `upstream.poll_interval_s`).
enum KeySuggestion {
    /// The closest candidate, or nil when none is close.
    static func nearest(to name: String, among candidates: [String], separator: Character = ".") -> String? {
        let lowered = name.lowercased()
        let scored = candidates.map { (candidate: $0, distance: distance(lowered, $0.lowercased())) }
        if let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= max(2, name.count / 4) {
            return best.candidate
        }
        guard let last = lowered.split(separator: separator).last else { return nil }
        return candidates.first { $0.lowercased().split(separator: separator).last == last }
    }

    /// Levenshtein distance.
    static func distance(_ lhs: String, _ rhs: String) -> Int {
        let left = Array(lhs)
        let right = Array(rhs)
        guard !left.isEmpty else { return right.count }
        guard !right.isEmpty else { return left.count }
        var previous = Array(0...right.count)
        var current = [Int](repeating: 0, count: right.count + 1)
        for i in 1...left.count {
            current[0] = i
            for j in 1...right.count {
                let substitution = previous[j - 1] + (left[i - 1] == right[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[right.count]
    }
}
