// The paper's figures as pure renderers: the CSV beside each figure carries the numbers worked
// out by hand here, error bars appear exactly where there is more than one seed, and each SVG is
// well-formed XML. With SYNAPSE_FIGURE_DIR set, the SVGs are also written there for viewing.

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import SynapseCLI
import SynapseContinual

@Suite struct FigureTests {
    static func keep(_ figure: PaperFigures.Figure, _ name: String) throws {
        #expect(try XMLDocument(xmlString: figure.svg).rootElement()?.name == "svg")
        guard let folder = ProcessInfo.processInfo.environment["SYNAPSE_FIGURE_DIR"] else { return }
        try figure.svg.write(toFile: folder + "/\(name).svg", atomically: true, encoding: .utf8)
        try figure.csv.write(toFile: folder + "/\(name).csv", atomically: true, encoding: .utf8)
    }

    static func errorBars(_ svg: String) -> Int { svg.components(separatedBy: "stroke-width=\"1.3\"").count - 1 }

    @Test("task accuracy bars: mean ± SEM per task and of the per-seed means; no error bar from one seed")
    func taskAccuracyBars() throws {
        // SI, 3 seeds, task 1: 0.9, 0.8, 0.7 → 0.8 ± 0.1/√3 = 0.057735; task 2: 1, 1, 1 → 1 ± 0.
        // Per-seed means 0.95, 0.9, 0.85 → 0.9 ± 0.028868 (s = 0.05).
        let si = PaperFigures.MethodSeeds(label: "SI (c = 0.1)", finalAccuracy: [[0.9, 1], [0.8, 1], [0.7, 1]])
        let none = PaperFigures.MethodSeeds(label: "fine-tuning", finalAccuracy: [[0.5, 0.99]])
        let scratch = PaperFigures.MethodSeeds(label: "from scratch", finalAccuracy: [[0.85, 0.95], [0.75, 0.97]])
        let figure = PaperFigures.taskAccuracyBars([si, none, scratch], title: "Split MNIST, 3 seeds")
        let lines = figure.csv.split(separator: "\n").map(String.init)
        #expect(lines.contains("SI (c = 0.1),T1,0.800000,0.057735,3"))
        #expect(lines.contains("SI (c = 0.1),T2,1.000000,0.000000,3"))
        #expect(lines.contains("SI (c = 0.1),mean,0.900000,0.028868,3"))
        #expect(lines.contains("fine-tuning,T1,0.500000,,1"))
        #expect(lines.contains("from scratch,T1,0.800000,0.050000,2"))
        // Error bars: SI T1 and mean (T2's SEM is 0), scratch T1, T2 and mean: 5; fine-tuning none.
        #expect(Self.errorBars(figure.svg) == 5)
        try Self.keep(figure, "task-accuracy-bars")
    }

    @Test("average accuracy against tasks learned: mean_{j≤i} R[i][j] per seed, then mean ± SEM")
    func averageAccuracyCurve() throws {
        // Seed 0: after 1 task 0.9; after 2 (0.7 + 0.8)/2 = 0.75; after 3 (0.6 + 0.7 + 0.8)/3 = 0.7.
        // Seed 1: 1.0; (0.9 + 0.9)/2 = 0.9; (0.8 + 0.9 + 1.0)/3 = 0.9. Means 0.95, 0.825, 0.8;
        // SEMs |a − b|/2: 0.05, 0.075, 0.1.
        let r0: [[Double]] = [[0.9, 0.1, 0.1], [0.7, 0.8, 0.1], [0.6, 0.7, 0.8]]
        let r1: [[Double]] = [[1.0, 0.2, 0.3], [0.9, 0.9, 0.2], [0.8, 0.9, 1.0]]
        let fine: [[Double]] = [[0.95, 0.1, 0.1], [0.5, 0.96, 0.1], [0.4, 0.55, 0.97]]
        let figure = PaperFigures.averageAccuracyCurve([PaperFigures.MethodMatrices(label: "SI", matrices: [r0, r1]),
                                                        PaperFigures.MethodMatrices(label: "fine-tuning", matrices: [fine])],
                                                       title: "Permuted MNIST")
        let lines = figure.csv.split(separator: "\n").map(String.init)
        #expect(lines.contains("SI,1,0.950000,0.050000,2"))
        #expect(lines.contains("SI,2,0.825000,0.075000,2"))
        #expect(lines.contains("SI,3,0.800000,0.100000,2"))
        #expect(lines.contains("fine-tuning,3,0.640000,,1"))
        #expect(Self.errorBars(figure.svg) == 3)
        try Self.keep(figure, "average-accuracy-curve")
    }

    @Test("validation curve: log axis, chosen value ringed, c = 0 kept in the CSV and named under the plot")
    func validationCurve() throws {
        let curve = PaperFigures.ValidationSeries(label: "SI", values: [0, 0.001, 0.01, 0.1, 1],
                                                  accuracies: [[0.80, 0.82], [0.81, 0.83], [0.85, 0.86], [0.93, 0.95], [0.90, 0.88]])
        let figure = PaperFigures.validationCurve([curve], parameter: "c", chosen: 0.1, title: "SI: validation accuracy against c")
        let lines = figure.csv.split(separator: "\n").map(String.init)
        #expect(lines.contains("SI,c,0.0,0.810000,0.010000,2"))
        #expect(lines.contains("SI,c,0.1,0.940000,0.010000,2"))
        #expect(figure.svg.contains("c = 0 ") || figure.svg.contains("c = 0<"))
        #expect(figure.svg.contains("r=\"8\""))           // the ring
        #expect(Self.errorBars(figure.svg) == 4)            // the four values on the axis
        // Log axis: the ticks 0.001 … 1 are equally spaced.
        let xs = ["0.001", "0.01", "0.1", "1"].compactMap { label -> Double? in
            guard let range = figure.svg.range(of: "\">\(label)</text>") else { return nil }
            let before = figure.svg[..<range.lowerBound]
            guard let x = before.range(of: "<text x=\"", options: .backwards) else { return nil }
            return Double(before[x.upperBound...].prefix { $0 != "\"" })
        }
        #expect(xs.count == 4)
        if xs.count == 4 { #expect(abs((xs[1] - xs[0]) - (xs[3] - xs[2])) < 0.2) }
        try Self.keep(figure, "validation-curve")
    }

    @Test("ω correlation heatmaps: a cell per task pair per layer per panel, coloured by r, with a colour scale")
    func omegaCorrelation() throws {
        let withC: [(String, [[Double?]])] = [("dense1", [[1.0, 0.1, -0.05], [0.1, 1, 0.2], [-0.05, 0.2, 1]]),
                     ("dense2", [[1.0, 0.15, 0.1], [0.15, 1, 0.05], [0.1, 0.05, 1]]),
                     ("output", [[1.0, -0.3, 0.0], [-0.3, 1, nil], [0.0, nil, 1]])]
        let withoutC: [(String, [[Double?]])] = [("dense1", [[1.0, 0.5, 0.4], [0.5, 1, 0.6], [0.4, 0.6, 1]]),
                        ("dense2", [[1.0, 0.8, 0.7], [0.8, 1, 0.9], [0.7, 0.9, 1]]),
                        ("output", [[1.0, -0.6, -0.9], [-0.6, 1, 0.3], [-0.9, 0.3, 1]])]
        func panel(_ title: String, _ layers: [(String, [[Double?]])]) -> PaperFigures.CorrelationPanel {
            PaperFigures.CorrelationPanel(title: title, layers: layers.map { (layer: $0.0, correlation: $0.1) })
        }
        let figure = PaperFigures.omegaCorrelation([panel("with consolidation (c = 0.1)", withC),
                                                    panel("without consolidation (c = 0)", withoutC)],
                                                   title: "Correlation of per-task ω")
        #expect(figure.csv.split(separator: "\n").count == 1 + 2 * 3 * 9)
        #expect(figure.csv.contains("with consolidation (c = 0.1),output,2,3,\n"))
        #expect(figure.svg.components(separatedBy: "<title>").count - 1 == 2 * 3 * 9)
        #expect(CorrelationHeatmap.colour(1) == "#B2182B" && CorrelationHeatmap.colour(-1) == "#2166AC")
        #expect(CorrelationHeatmap.colour(0) == "#FFFFFF" && CorrelationHeatmap.colour(nil) == "#BBBBBB")
        try Self.keep(figure, "omega-correlation")
    }
}
