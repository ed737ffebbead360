// accuracy.svg: test accuracy of every task after the last task, one group of bars per task and
// one bar per method side by side (the kind of the paper's Figure 6), plus a "mean" group.
// Hand-written SVG 1.1: no dependencies, opens in any browser.
//
// Geometry is in SVG user units (pixels at 100 %). The legend sits in one row between the title
// and the plot, so it never covers a bar; each bar carries its value.

import Foundation

public enum AccuracyChart {
    /// One method's bars: its label and the accuracy of each task (fractions in [0, 1]).
    public struct Series: Equatable {
        public var label: String
        public var values: [Double]
        public init(label: String, values: [Double]) { self.label = label; self.values = values }
    }

    /// Colour-blind-safe palette (Okabe & Ito 2008), most distinct first.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]

    /// The chart of `reports` (their last accuracy rows).
    public static func svg(_ reports: [MethodReport], title: String) -> String {
        svg(series: reports.map { Series(label: Summary.label($0), values: $0.finalAccuracy) },
            taskLabels: (reports.map(\.finalAccuracy.count).max() ?? 0) > 0
                ? (1...(reports.map(\.finalAccuracy.count).max() ?? 1)).map { "T\($0)" } : [],
            title: title)
    }

    /// The chart of arbitrary series over `taskLabels`; a series shorter than `taskLabels` has no
    /// bar for the missing tasks.
    public static func svg(series: [Series], taskLabels: [String], title: String) -> String {
        let groups = taskLabels + ["mean"]
        let methodCount = max(1, series.count)
        // Bars get narrower as methods are added, down to 14 units; groups are 60 % bars, 40 % gap.
        let barWidth = Double(max(14, min(36, 180 / methodCount)))
        let groupGap = max(24.0, barWidth * 1.2)
        let groupWidth = barWidth * Double(methodCount) + groupGap

        let left = 70.0, right = 24.0, bottom = 62.0
        let plotHeight = 300.0
        let plotWidth = groupWidth * Double(groups.count)
        let width = max(560.0, left + plotWidth + right)

        // Legend: rows of swatches centred under the title, wrapped when wider than the chart.
        let itemWidths = series.map { 22.0 + 7.0 * Double($0.label.count) + 18 }
        var rows: [[Int]] = [[]]
        var rowWidth = 0.0
        for (i, w) in itemWidths.enumerated() {
            if rowWidth + w > width - 40, !rows[rows.count - 1].isEmpty { rows.append([]); rowWidth = 0 }
            rows[rows.count - 1].append(i); rowWidth += w
        }
        // The plot starts below the legend, leaving room for a value written above a full bar.
        let top = 46.0 + 18.0 * Double(rows.count) + 30
        let height = top + plotHeight + bottom
        func y(_ value: Double) -> Double { top + plotHeight * (1 - min(max(value, 0), 1)) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(fmt(width))" height="\(fmt(height))" viewBox="0 0 \(fmt(width)) \(fmt(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(fmt(width / 2))" y="24" text-anchor="middle" font-size="16" font-weight="bold">\(escape(title))</text>

        """

        for (r, row) in rows.enumerated() {
            let total = row.map { itemWidths[$0] }.reduce(0, +)
            var x = (width - total) / 2
            let rowY = 46.0 + 18.0 * Double(r)
            for i in row {
                svg += "<rect x=\"\(fmt(x))\" y=\"\(fmt(rowY - 10))\" width=\"14\" height=\"14\" fill=\"\(palette[i % palette.count])\"/>"
                svg += "<text x=\"\(fmt(x + 20))\" y=\"\(fmt(rowY + 1))\" font-size=\"13\">\(escape(series[i].label))</text>\n"
                x += itemWidths[i]
            }
        }

        // Axes and grid: y from 0 to 1 in steps of 0.2, labelled.
        for step in 0...5 {
            let value = Double(step) * 0.2
            let gy = y(value)
            svg += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(gy))\" x2=\"\(fmt(left + plotWidth))\" y2=\"\(fmt(gy))\" stroke=\"\(step == 0 ? "#000" : "#ddd")\" stroke-width=\"1\"/>"
            svg += "<text x=\"\(fmt(left - 8))\" y=\"\(fmt(gy + 4))\" text-anchor=\"end\" font-size=\"12\">\(String(format: "%.1f", value))</text>\n"
        }
        svg += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(top))\" x2=\"\(fmt(left))\" y2=\"\(fmt(top + plotHeight))\" stroke=\"#000\"/>\n"
        svg += "<text transform=\"translate(20 \(fmt(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">test accuracy (task-incremental)</text>\n"
        svg += "<text x=\"\(fmt(left + plotWidth / 2))\" y=\"\(fmt(height - 14))\" text-anchor=\"middle\" font-size=\"13\">task (accuracy after training the last task)</text>\n"

        // Bars with their values (rotated when the bar is too narrow for horizontal text).
        for (g, group) in groups.enumerated() {
            let groupX = left + Double(g) * groupWidth + groupGap / 2
            if group == "mean", g > 0 {
                let sx = left + Double(g) * groupWidth
                svg += "<line x1=\"\(fmt(sx))\" y1=\"\(fmt(top))\" x2=\"\(fmt(sx))\" y2=\"\(fmt(top + plotHeight))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
            }
            svg += "<text x=\"\(fmt(groupX + barWidth * Double(methodCount) / 2))\" y=\"\(fmt(top + plotHeight + 18))\" text-anchor=\"middle\" font-size=\"13\">\(escape(group))</text>\n"
            for (s, item) in series.enumerated() {
                let value: Double?
                if group == "mean" {
                    value = item.values.isEmpty ? nil : item.values.reduce(0, +) / Double(item.values.count)
                } else {
                    value = g < item.values.count ? item.values[g] : nil
                }
                guard let value, value.isFinite else { continue }
                let x = groupX + Double(s) * barWidth
                let barTop = y(value)
                svg += "<rect x=\"\(fmt(x + 1))\" y=\"\(fmt(barTop))\" width=\"\(fmt(barWidth - 2))\" height=\"\(fmt(top + plotHeight - barTop))\" fill=\"\(palette[s % palette.count])\"><title>\(escape(item.label)), \(escape(group)): \(String(format: "%.3f", value))</title></rect>"
                let text = String(format: "%.2f", value)
                let cx = x + barWidth / 2
                if barWidth >= 30 {
                    svg += "<text x=\"\(fmt(cx))\" y=\"\(fmt(barTop - 4))\" text-anchor=\"middle\" font-size=\"11\">\(text)</text>\n"
                } else {
                    svg += "<text transform=\"translate(\(fmt(cx + 4)) \(fmt(barTop - 4))) rotate(-90)\" font-size=\"11\">\(text)</text>\n"
                }
            }
        }
        svg += "</svg>\n"
        return svg
    }

    static func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
