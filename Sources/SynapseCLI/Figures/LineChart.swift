// A line chart with markers and error bars, several series, a linear or logarithmic x axis.
// The renderer of the accuracy-against-tasks and validation-against-value figures.
//
// Layout as AccuracyChart: title, a legend row, then the plot; y runs over `yRange` with grid
// lines every `yStep`.

import Foundation

enum LineChart {
    struct Point: Equatable {
        var x: Double
        var y: Double
        /// Half-length of the error bar (e.g. the SEM); nil for none.
        var error: Double?
    }

    struct Series: Equatable {
        var label: String
        var points: [Point]
    }

    /// `xTicks` are (value, label) pairs drawn under the axis; `logX` places x by log10 (every x
    /// must then be > 0; the caller drops the others). `highlight` draws a ring around the points
    /// at that x (the chosen value) and a note under the plot.
    static func svg(series: [Series], title: String, xTitle: String, yTitle: String, xTicks: [(Double, String)],
                    logX: Bool, yRange: ClosedRange<Double>, yStep: Double, highlight: (x: Double, note: String)? = nil,
                    footnote: String? = nil) -> String {
        // The plot widens for a long title (about 9.5 units a character at 16 px bold).
        let left = 70.0, right = 30.0, plotHeight = 300.0
        let plotWidth = max(460.0, 9.5 * Double(title.count) + 40 - left - right)
        let width = left + plotWidth + right
        let legend = SVG.legend(series.map(\.label), width: width)
        let top = 46.0 + 18.0 * Double(max(1, legend.rows)) + 14
        let notes = [highlight?.note, footnote].compactMap { $0 }
        let bottom = 56.0 + 16.0 * Double(notes.count)
        let height = top + plotHeight + bottom

        func position(_ x: Double) -> Double { logX ? log10(x) : x }
        let xs = xTicks.map { position($0.0) } + series.flatMap { $0.points.map { position($0.x) } }
        var (xLow, xHigh) = (xs.min() ?? 0, xs.max() ?? 1)
        if xHigh - xLow < 1e-12 { xLow -= 0.5; xHigh += 0.5 }
        let pad = 0.06 * (xHigh - xLow)
        func px(_ x: Double) -> Double { left + plotWidth * (position(x) - xLow + pad) / (xHigh - xLow + 2 * pad) }
        func py(_ y: Double) -> Double {
            let clamped = min(max(y, yRange.lowerBound), yRange.upperBound)
            return top + plotHeight * (1 - (clamped - yRange.lowerBound) / (yRange.upperBound - yRange.lowerBound))
        }

        var svg = SVG.head(width: width, height: height, title: title) + legend.svg
        let tickCount = Int(((yRange.upperBound - yRange.lowerBound) / yStep).rounded())
        svg += SVG.yAxis(ticks: (0...tickCount).map { yRange.lowerBound + Double($0) * yStep },
                         format: yStep < 0.1 ? "%.2f" : "%.1f", y: py, left: left, right: left + plotWidth,
                         top: top, bottom: top + plotHeight, title: yTitle)
        for (value, label) in xTicks {
            let x = px(value)
            svg += "<line x1=\"\(SVG.fmt(x))\" y1=\"\(SVG.fmt(top + plotHeight))\" x2=\"\(SVG.fmt(x))\" y2=\"\(SVG.fmt(top + plotHeight + 5))\" stroke=\"#000\"/>"
            svg += "<text x=\"\(SVG.fmt(x))\" y=\"\(SVG.fmt(top + plotHeight + 19))\" text-anchor=\"middle\" font-size=\"12\">\(SVG.escape(label))</text>\n"
        }
        svg += "<text x=\"\(SVG.fmt(left + plotWidth / 2))\" y=\"\(SVG.fmt(top + plotHeight + 42))\" text-anchor=\"middle\" font-size=\"13\">\(SVG.escape(xTitle))</text>\n"
        for (i, note) in notes.enumerated() {
            svg += "<text x=\"\(SVG.fmt(left))\" y=\"\(SVG.fmt(top + plotHeight + 62 + 16 * Double(i)))\" font-size=\"12\" fill=\"#444\">\(SVG.escape(note))</text>\n"
        }
        if let highlight {
            let x = px(highlight.x)
            svg += "<line x1=\"\(SVG.fmt(x))\" y1=\"\(SVG.fmt(top))\" x2=\"\(SVG.fmt(x))\" y2=\"\(SVG.fmt(top + plotHeight))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
        }
        // Series: a small horizontal offset per series keeps coinciding error bars apart.
        for (s, item) in series.enumerated() {
            let colour = SVG.colour(s)
            let shift = (Double(s) - Double(series.count - 1) / 2) * 3
            let points = item.points.filter { $0.y.isFinite }.sorted { $0.x < $1.x }
            let path = points.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(SVG.fmt(px($0.element.x) + shift)) \(SVG.fmt(py($0.element.y)))" }
            if points.count > 1 {
                svg += "<path d=\"\(path.joined())\" stroke=\"\(colour)\" stroke-width=\"2\" fill=\"none\"/>\n"
            }
            for point in points {
                let (x, y) = (px(point.x) + shift, py(point.y))
                if let error = point.error, error.isFinite, error > 0 {
                    svg += SVG.errorBar(x: x, low: py(point.y - error), high: py(point.y + error), cap: 4, colour: colour)
                }
                let tip = point.error.map { String(format: " ± %.3f", $0) } ?? ""
                svg += "<circle cx=\"\(SVG.fmt(x))\" cy=\"\(SVG.fmt(y))\" r=\"4\" fill=\"\(colour)\"><title>\(SVG.escape(item.label)): \(String(format: "%g", point.x)) → \(String(format: "%.3f", point.y))\(tip)</title></circle>\n"
                if let highlight, point.x == highlight.x {
                    svg += "<circle cx=\"\(SVG.fmt(x))\" cy=\"\(SVG.fmt(y))\" r=\"8\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\"/>\n"
                }
            }
        }
        return svg + "</svg>\n"
    }

    /// A y range in steps of `step` covering every point with its error bar, within [floor, ceiling].
    static func yRange(_ series: [Series], step: Double, floor: Double = 0, ceiling: Double = 1) -> ClosedRange<Double> {
        let points = series.flatMap(\.points).filter { $0.y.isFinite }
        let lows = points.map { $0.y - ($0.error ?? 0) }, highs = points.map { $0.y + ($0.error ?? 0) }
        var low = max(floor, ((lows.min() ?? floor) / step).rounded(.down) * step)
        var high = min(ceiling, ((highs.max() ?? ceiling) / step).rounded(.up) * step)
        if high - low < step { low = max(floor, high - step); high = low + step }
        return low...high
    }
}
