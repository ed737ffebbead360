// CSV cells for the files written beside the figures and summaries.

import Foundation

enum CSV {
    /// A field, quoted when it holds a comma, quote or newline (RFC 4180).
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A number with six decimals; empty for nil or non-finite.
    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return String(format: "%.6f", value)
    }
}
