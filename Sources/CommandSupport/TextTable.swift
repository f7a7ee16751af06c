/// Fixed-width columns for the tool's tables (`String(format:)` cannot pad `%@` on Linux).
public enum TextTable {
    /// Joins `cells` padded to `widths`: negative widths left-align, positive right-align.
    public static func row(_ cells: [String], widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in
            let pad = String(repeating: " ", count: max(0, abs(width) - cell.count))
            return width < 0 ? cell + pad : pad + cell
        }.joined(separator: " ")
    }
}
