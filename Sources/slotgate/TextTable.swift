//===----------------------------------------------------------------------===//
//
// This source file is part of the slotgate project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// A plain text table: a header row and columns padded to their widest cell.
struct TextTable {
    /// The column titles.
    var header: [String]
    /// Columns whose cells are right-aligned (numbers).
    var rightAligned: Set<Int> = []
    /// The rows.
    var rows: [[String]] = []

    /// The table as lines, two spaces between columns, no trailing blanks.
    func render() -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, width) in widths.enumerated() {
                let cell = index < cells.count ? cells[index] : ""
                let padding = String(repeating: " ", count: max(0, width - cell.count))
                parts.append(rightAligned.contains(index) ? padding + cell : cell + padding)
            }
            return String(parts.joined(separator: "  ").reversed().drop(while: { $0 == " " }).reversed())
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
