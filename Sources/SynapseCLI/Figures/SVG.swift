// What every chart shares: the palette, number formatting, escaping, the document head, the
// legend row and error bars. Hand-written SVG 1.1 in user units (pixels at 100 %).

import Foundation

enum SVG {
    /// Colour-blind-safe palette (Okabe & Ito 2008), most distinct first.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    static func colour(_ index: Int) -> String { palette[index % palette.count] }

    /// Coordinates to one decimal.
    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The opening tag, a white background and the bold title centred at y = 24.
    static func head(width: Double, height: Double, title: String) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(fmt(width / 2))" y="24" text-anchor="middle" font-size="16" font-weight="bold">\(escape(title))</text>

        """
    }

    /// Legend rows of colour swatches and labels, centred, wrapped to `width − 40`; the first row's
    /// baseline is at `top`, 18 units per row. Returns the SVG and the number of rows.
    static func legend(_ labels: [String], width: Double, top: Double = 46) -> (svg: String, rows: Int) {
        let itemWidths = labels.map { 22.0 + 7.0 * Double($0.count) + 18 }
        var rows: [[Int]] = [[]]
        var rowWidth = 0.0
        for (i, w) in itemWidths.enumerated() {
            if rowWidth + w > width - 40, !rows[rows.count - 1].isEmpty { rows.append([]); rowWidth = 0 }
            rows[rows.count - 1].append(i); rowWidth += w
        }
        var svg = ""
        for (r, row) in rows.enumerated() {
            let total = row.map { itemWidths[$0] }.reduce(0, +)
            var x = (width - total) / 2
            let rowY = top + 18.0 * Double(r)
            for i in row {
                svg += "<rect x=\"\(fmt(x))\" y=\"\(fmt(rowY - 10))\" width=\"14\" height=\"14\" fill=\"\(colour(i))\"/>"
                svg += "<text x=\"\(fmt(x + 20))\" y=\"\(fmt(rowY + 1))\" font-size=\"13\">\(escape(labels[i]))</text>\n"
                x += itemWidths[i]
            }
        }
        return (svg, labels.isEmpty ? 0 : rows.count)
    }

    /// A vertical error bar from `low` to `high` (SVG y, low below high) at x with caps of half-width `cap`.
    static func errorBar(x: Double, low: Double, high: Double, cap: Double, colour: String = "#222") -> String {
        "<path d=\"M\(fmt(x)) \(fmt(low))V\(fmt(high))M\(fmt(x - cap)) \(fmt(low))H\(fmt(x + cap))M\(fmt(x - cap)) \(fmt(high))H\(fmt(x + cap))\" stroke=\"\(colour)\" stroke-width=\"1.3\" fill=\"none\"/>"
    }

    /// Horizontal grid lines with labels at `ticks` (values), the plot's left axis line and the
    /// rotated y-axis title.
    static func yAxis(ticks: [Double], format: String, y: (Double) -> Double, left: Double, right: Double,
                      top: Double, bottom: Double, title: String) -> String {
        var svg = ""
        for (i, value) in ticks.enumerated() {
            let gy = y(value)
            svg += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(gy))\" x2=\"\(fmt(right))\" y2=\"\(fmt(gy))\" stroke=\"\(i == 0 ? "#000" : "#ddd")\" stroke-width=\"1\"/>"
            svg += "<text x=\"\(fmt(left - 8))\" y=\"\(fmt(gy + 4))\" text-anchor=\"end\" font-size=\"12\">\(String(format: format, value))</text>\n"
        }
        svg += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(top))\" x2=\"\(fmt(left))\" y2=\"\(fmt(bottom))\" stroke=\"#000\"/>\n"
        svg += "<text transform=\"translate(20 \(fmt((top + bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>\n"
        return svg
    }
}
