// Heatmaps of correlation matrices: panels side by side (columns), one row of heatmaps per
// layer, a diverging colour scale (blue −1, white 0, red +1) with its colour bar on the right.
// Each cell carries its value when the cell is large enough to read it.

import Foundation

enum CorrelationHeatmap {
    /// Blue (#2166AC) through white to red (#B2182B); nil (undefined) is grey.
    static func colour(_ r: Double?) -> String {
        guard let r, r.isFinite else { return "#BBBBBB" }
        let t = min(1, max(-1, r))
        let end: (Double, Double, Double) = t < 0 ? (0x21, 0x66, 0xAC) : (0xB2, 0x18, 0x2B)
        let a = abs(t)
        let mix = { (e: Double) in Int((255 + (e - 255) * a).rounded()) }
        return String(format: "#%02X%02X%02X", mix(end.0), mix(end.1), mix(end.2))
    }

    static func svg(_ panels: [PaperFigures.CorrelationPanel], title: String) -> String {
        let tasks = panels.flatMap { $0.layers.map(\.correlation.count) }.max() ?? 1
        let rows = panels.map(\.layers.count).max() ?? 0
        let cell = max(18.0, min(44.0, 260.0 / Double(max(1, tasks))))
        let map = cell * Double(tasks)
        // A column is wide enough for its map and for the longest panel title (≈ 8 units a character
        // at 14 px bold), so neighbouring titles never overlap.
        let longestTitle = Double(panels.map(\.title.count).max() ?? 0)
        let column = max(map + 44, 8 * longestTitle + 24)
        let left = 96.0, top = 78.0, gapY = 46.0, barWidth = 18.0
        let width = left + Double(panels.count) * column + 70
        let height = top + Double(rows) * (map + gapY) + 20

        var svg = SVG.head(width: width, height: height, title: title)
        for (p, panel) in panels.enumerated() {
            let x0 = left + Double(p) * column
            svg += "<text x=\"\(SVG.fmt(x0 + map / 2))\" y=\"54\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(SVG.escape(panel.title))</text>\n"
            for (l, entry) in panel.layers.enumerated() {
                let y0 = top + Double(l) * (map + gapY)
                if p == 0 {
                    svg += "<text transform=\"translate(\(SVG.fmt(left - 34)) \(SVG.fmt(y0 + map / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(SVG.escape(entry.layer))</text>\n"
                }
                for (i, row) in entry.correlation.enumerated() {
                    for (j, value) in row.enumerated() {
                        let x = x0 + Double(j) * cell, y = y0 + Double(i) * cell
                        let text = value.map { String(format: "%.2f", $0) } ?? "n/a"
                        svg += "<rect x=\"\(SVG.fmt(x))\" y=\"\(SVG.fmt(y))\" width=\"\(SVG.fmt(cell))\" height=\"\(SVG.fmt(cell))\" fill=\"\(colour(value))\" stroke=\"white\" stroke-width=\"0.5\"><title>\(SVG.escape(entry.layer)), T\(i + 1) vs T\(j + 1): \(text)</title></rect>"
                        if cell >= 30 {
                            let dark = (value.map { abs($0) } ?? 0) > 0.6
                            svg += "<text x=\"\(SVG.fmt(x + cell / 2))\" y=\"\(SVG.fmt(y + cell / 2 + 4))\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(dark ? "white" : "black")\">\(text)</text>"
                        }
                        svg += "\n"
                    }
                }
                // Task labels: columns below, rows on the left.
                let n = entry.correlation.count
                for t in 0..<n {
                    svg += "<text x=\"\(SVG.fmt(x0 + (Double(t) + 0.5) * cell))\" y=\"\(SVG.fmt(y0 + Double(n) * cell + 14))\" text-anchor=\"middle\" font-size=\"11\">T\(t + 1)</text>"
                    svg += "<text x=\"\(SVG.fmt(x0 - 4))\" y=\"\(SVG.fmt(y0 + (Double(t) + 0.5) * cell + 4))\" text-anchor=\"end\" font-size=\"11\">T\(t + 1)</text>\n"
                }
            }
        }
        // The colour bar, spanning the first row of maps.
        let barX = width - 58, barTop = top, barHeight = max(map, 120)
        let steps = 40
        for s in 0..<steps {
            let r = 1 - 2 * (Double(s) + 0.5) / Double(steps)
            svg += "<rect x=\"\(SVG.fmt(barX))\" y=\"\(SVG.fmt(barTop + barHeight * Double(s) / Double(steps)))\" width=\"\(SVG.fmt(barWidth))\" height=\"\(SVG.fmt(barHeight / Double(steps) + 0.5))\" fill=\"\(colour(r))\"/>"
        }
        svg += "<rect x=\"\(SVG.fmt(barX))\" y=\"\(SVG.fmt(barTop))\" width=\"\(SVG.fmt(barWidth))\" height=\"\(SVG.fmt(barHeight))\" fill=\"none\" stroke=\"#000\" stroke-width=\"0.8\"/>\n"
        for value in [1.0, 0.5, 0, -0.5, -1] {
            let y = barTop + barHeight * (1 - value) / 2
            svg += "<text x=\"\(SVG.fmt(barX + barWidth + 4))\" y=\"\(SVG.fmt(y + 4))\" font-size=\"11\">\(String(format: "%g", value))</text>\n"
        }
        svg += "<text x=\"\(SVG.fmt(barX + barWidth / 2))\" y=\"\(SVG.fmt(barTop - 8))\" text-anchor=\"middle\" font-size=\"11\">r</text>\n"
        return svg + "</svg>\n"
    }
}
