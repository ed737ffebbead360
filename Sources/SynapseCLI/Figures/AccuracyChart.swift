// accuracy.svg: test accuracy of every task after the last task, one group of bars per task and
// one bar per method side by side (the kind of the paper's Figure 6), plus a "mean" group, with
// optional error bars (± SEM over seeds). Hand-written SVG 1.1: no dependencies, opens in any browser.
//
// Geometry is in SVG user units (pixels at 100 %). The legend sits in one row between the title
// and the plot, so it never covers a bar; each bar carries its value.

import Foundation

public enum AccuracyChart {
    /// One method's bars: its label and the accuracy of each task (fractions in [0, 1]), with
    /// optional error bars (± `errors[t]`, e.g. the SEM over seeds; nil or missing: none) and the
    /// error of the "mean" group (the mean over tasks is computed here from `values`).
    public struct Series: Equatable {
        public var label: String
        public var values: [Double]
        public var errors: [Double?]
        public var meanError: Double?
        public init(label: String, values: [Double], errors: [Double?] = [], meanError: Double? = nil) {
            self.label = label; self.values = values; self.errors = errors; self.meanError = meanError
        }
    }

    static var palette: [String] { SVG.palette }

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
        // Wide enough for the title too (about 9.5 units a character at 16 px bold).
        let width = max(560.0, left + plotWidth + right, 9.5 * Double(title.count) + 40)

        // Legend: rows of swatches centred under the title, wrapped when wider than the chart.
        let legend = SVG.legend(series.map(\.label), width: width)
        // The plot starts below the legend, leaving room for a value written above a full bar.
        let top = 46.0 + 18.0 * Double(max(1, legend.rows)) + 30
        let height = top + plotHeight + bottom
        func y(_ value: Double) -> Double { top + plotHeight * (1 - min(max(value, 0), 1)) }

        var svg = SVG.head(width: width, height: height, title: title) + legend.svg

        // Axes and grid: y from 0 to 1 in steps of 0.2, labelled.
        svg += SVG.yAxis(ticks: (0...5).map { Double($0) * 0.2 }, format: "%.1f", y: y, left: left,
                         right: left + plotWidth, top: top, bottom: top + plotHeight,
                         title: "test accuracy (task-incremental)")
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
                let error: Double?
                if group == "mean" {
                    value = item.values.isEmpty ? nil : item.values.reduce(0, +) / Double(item.values.count)
                    error = item.meanError
                } else {
                    value = g < item.values.count ? item.values[g] : nil
                    error = g < item.errors.count ? item.errors[g] : nil
                }
                guard let value, value.isFinite else { continue }
                let x = groupX + Double(s) * barWidth
                let barTop = y(value)
                let tip = error.map { String(format: " ± %.3f", $0) } ?? ""
                svg += "<rect x=\"\(fmt(x + 1))\" y=\"\(fmt(barTop))\" width=\"\(fmt(barWidth - 2))\" height=\"\(fmt(top + plotHeight - barTop))\" fill=\"\(palette[s % palette.count])\"><title>\(escape(item.label)), \(escape(group)): \(String(format: "%.3f", value))\(tip)</title></rect>"
                let cx = x + barWidth / 2
                // The value is written above the error bar's top when there is one.
                var labelY = barTop
                if let error, error.isFinite, error > 0 {
                    let high = y(value + error)
                    svg += SVG.errorBar(x: cx, low: y(value - error), high: high, cap: min(5, barWidth / 4))
                    labelY = min(barTop, high)
                }
                let text = String(format: "%.2f", value)
                if barWidth >= 30 {
                    svg += "<text x=\"\(fmt(cx))\" y=\"\(fmt(labelY - 4))\" text-anchor=\"middle\" font-size=\"11\">\(text)</text>\n"
                } else {
                    svg += "<text transform=\"translate(\(fmt(cx + 4)) \(fmt(labelY - 4))) rotate(-90)\" font-size=\"11\">\(text)</text>\n"
                }
            }
        }
        svg += "</svg>\n"
        return svg
    }

    static func fmt(_ value: Double) -> String { SVG.fmt(value) }

    static func escape(_ text: String) -> String { SVG.escape(text) }
}
