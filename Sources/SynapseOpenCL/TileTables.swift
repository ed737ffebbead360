// The tuning tables: for each tunable kernel, ONE table of candidate tiles (sets of -D defines,
// the first being the default), with the ops it serves. The tuner (Tuner.swift) picks among them.

import COpenCL
import Foundation
import SynapseEngine
import SynapseReference

/// The candidate tiles of one kernel: its one home. `candidates[0]` is the default.
public struct TileTable: Sendable {
    /// The kernel the defines are for and, after a dot, the shape class they serve, e.g.
    /// "gemm_cpu" or "conv_fwd_cpu.narrow"; it also names the problem the tuner checks and
    /// times the candidates on.
    public let kernel: String
    public let style: KernelStyle
    public let candidates: [[String: String]]
    /// The backend ops (their `OpContract` names) whose kernels read this table, so that
    /// `synapse-check --every-tile` runs each candidate on those ops' checks; nil: every op.
    public let ops: [String]?

    public init(kernel: String, style: KernelStyle, candidates: [[String: String]], ops: [String]? = nil) {
        self.kernel = kernel; self.style = style; self.candidates = candidates; self.ops = ops
    }

    /// "MR=6 NR=32": a candidate as text (names sorted), as the cache stores it.
    public static func text(_ defines: [String: String]) -> String {
        defines.keys.sorted().map { "\($0)=\(defines[$0] ?? "")" }.joined(separator: " ")
    }
}

/// Every tunable kernel's table. Constraints a candidate must meet: CPU GEMM NR a multiple of
/// 16 (float16 lanes); GPU GEMM TM a multiple of WM, TN of WN, (TN/WN)·(TM/WM) work-items per
/// group within every device's minimum of 256, TK·(TM + TN + 2)·4 bytes of local memory.
public enum TileTables {
    /// CPU GEMM: MR rows × NR columns of C per work-item. 6 × 32 measured best on PoCL 3.1 on
    /// two Zen 4 cores; the others are the neighbours worth trying on other CPUs.
    public static let gemmCPU = TileTable(kernel: "gemm_cpu", style: .cpu, candidates: [
        ["MR": "6", "NR": "32"], ["MR": "4", "NR": "32"], ["MR": "8", "NR": "32"],
        ["MR": "8", "NR": "16"], ["MR": "4", "NR": "48"],
    ], ops: ["gemm"])
    /// The dense layers' fused GEMMs (gemm_cpu_fused: denseForward, denseBackwardWeight,
    /// denseBackwardInput): the same MR × NR block as gemm_cpu, but tuned on the split-MNIST
    /// layer, where B is read in place when NR divides the unit count (256) and packed otherwise.
    public static let gemmFusedCPU = TileTable(kernel: "gemm_cpu_fused", style: .cpu, candidates: [
        ["MR": "6", "NR": "32"], ["MR": "4", "NR": "32"], ["MR": "8", "NR": "32"],
        ["MR": "8", "NR": "16"], ["MR": "4", "NR": "48"], ["MR": "4", "NR": "64"],
    ], ops: denseOps)
    /// GPU GEMM: a TM × TN tile of C per work-group, TK deep, WM × WN per work-item.
    public static let gemmGPU = TileTable(kernel: "gemm_gpu", style: .gpu, candidates: [
        ["TM": "64", "TN": "64", "TK": "16", "WM": "8", "WN": "8"],
        ["TM": "64", "TN": "64", "TK": "16", "WM": "4", "WN": "4"],
        ["TM": "32", "TN": "64", "TK": "16", "WM": "4", "WN": "8"],
        ["TM": "128", "TN": "64", "TK": "8", "WM": "8", "WN": "8"],
        ["TM": "128", "TN": "128", "TK": "8", "WM": "8", "WN": "8"],
    ], ops: ["gemm"] + denseOps)
    /// The dense ops, GEMMs with fused epilogues (`gemm_cpu_fused` in CPU style, `gemm_gpu` in GPU style).
    private static let denseOps = ["denseForward", "denseBackwardWeight", "denseBackwardInput"]
    /// The ops that run the forward convolution kernels (the input gradient is a forward convolution of dOutput).
    private static let convForwardOps = ["conv2dForward", "conv2dBackwardInput"]

    /// CPU forward convolution (also run by the input gradient) on output rows of more than 16:
    /// MR filters × NR positions of one output row per work-item (conv_fwd_cpu; NR a multiple of
    /// 16, at most 64: the padded copies' slack). 8 × 32 measured best on PoCL 3.1 on two Zen 4
    /// cores. No flat-wide candidates: a 30- or 32-wide row wastes no more lanes than a flat
    /// tile, and on the CNN's conv1 (3 channels: 27 fmas per stored position) the flat tile's
    /// lane-by-lane store made the forward 2.5× slower when the tuner picked it on conv2.
    public static let convForwardWide = TileTable(kernel: "conv_fwd_cpu.wide", style: .cpu, candidates: [
        ["MR": "8", "NR": "32"], ["MR": "4", "NR": "32"], ["MR": "6", "NR": "32"], ["MR": "12", "NR": "16"],
        ["MR": "8", "NR": "16"],
    ], ops: convForwardOps)
    /// The same on rows of at most 16 (the 13- and 15-wide layers), where a row tile is one
    /// 16-lane vector (Q/16 of its lanes used, each broadcast weight feeding one fma). FLAT=1
    /// candidates: NR consecutive positions of the flat padded plane per work-item.
    public static let convForwardNarrow = TileTable(kernel: "conv_fwd_cpu.narrow", style: .cpu, candidates: [
        ["MR": "8", "NR": "32", "FLAT": "1"], ["MR": "8", "NR": "48", "FLAT": "1"], ["MR": "4", "NR": "64", "FLAT": "1"],
        ["MR": "12", "NR": "32", "FLAT": "1"], ["MR": "8", "NR": "16"], ["MR": "4", "NR": "16"],
    ], ops: convForwardOps)

    /// GPU convolution, forward and input gradient (conv_fwd_gpu): TM filters × TN positions per
    /// work-group, TK deep, WM × WN per work-item (the GEMM's constraints); layers with ≤ 32
    /// filters scale TM and WM down to TM = 32 (see `ConvolutionTiles.gpuConv`), so every
    /// candidate's WM·32 must be a multiple of its TM.
    public static let convGPU = TileTable(kernel: "conv_fwd_gpu", style: .gpu, candidates: gpuConvolution, ops: convForwardOps)
    /// GPU convolution weight gradient (conv_dw_gpu): the same tile parameters over filters ×
    /// (c, r, s) columns, summed over positions; its own table because its operands differ.
    public static let convWeightGPU = TileTable(kernel: "conv_dw_gpu", style: .gpu, candidates: gpuConvolution,
                                                ops: ["conv2dBackwardWeight"])
    /// The GPU convolution tables' candidates (both kernels share the tile parameters), the first
    /// being the old fixed tile.
    private static let gpuConvolution: [[String: String]] = [
        ["TM": "64", "TN": "64", "TK": "16", "WM": "8", "WN": "8"],
        ["TM": "64", "TN": "64", "TK": "16", "WM": "4", "WN": "4"],
        ["TM": "64", "TN": "128", "TK": "8", "WM": "8", "WN": "8"],
        ["TM": "128", "TN": "64", "TK": "8", "WM": "8", "WN": "8"],
        ["TM": "64", "TN": "32", "TK": "16", "WM": "4", "WN": "4"],
    ]

    /// CPU 3×3 convolutions, per op and output-width class (as the direct kernel's: rows of
    /// more than 16, or at most 16): the direct kernel (conv_fwd_cpu with its own table's tiles,
    /// the default) or Winograd F(2×2, 3×3) (wino_fwd_cpu, Winograd.swift) with MR filters × NV
    /// vectors of 16 tiles per work-item. Only shapes Winograd serves consult these (3×3, 8 to 64 channels).
    public static let conv3x3ForwardWide = TileTable(kernel: "conv3x3_fwd_cpu.wide", style: .cpu, candidates: winograd,
                                                     ops: ["conv2dForward"])
    public static let conv3x3ForwardNarrow = TileTable(kernel: "conv3x3_fwd_cpu.narrow", style: .cpu, candidates: winograd,
                                                       ops: ["conv2dForward"])
    public static let conv3x3BackwardInputWide = TileTable(kernel: "conv3x3_dx_cpu.wide", style: .cpu, candidates: winograd,
                                                           ops: ["conv2dBackwardInput"])
    public static let conv3x3BackwardInputNarrow = TileTable(kernel: "conv3x3_dx_cpu.narrow", style: .cpu,
                                                             candidates: winograd, ops: ["conv2dBackwardInput"])
    /// CPU 3×3 weight gradients, per output-width class (rows of more than 16, or at most 16):
    /// the direct kernel (conv_dw_cpu with its fixed tiles, the default) or Winograd
    /// F(3×3, 2×2) in the transform domain (wino_dw_cpu, Winograd.swift) with NB vectors of 16
    /// tiles per block and ITEMS work-items (partial sums) per compute unit. Only shapes Winograd
    /// serves consult these (3×3, 8 to 64 input channels, output rows of more than 8).
    public static let conv3x3BackwardWeightWide = TileTable(kernel: "conv3x3_dw_cpu.wide", style: .cpu,
                                                            candidates: winogradWeight, ops: ["conv2dBackwardWeight"])
    public static let conv3x3BackwardWeightNarrow = TileTable(kernel: "conv3x3_dw_cpu.narrow", style: .cpu,
                                                              candidates: winogradWeight, ops: ["conv2dBackwardWeight"])
    private static let winogradWeight: [[String: String]] = [
        ["ALGO": "direct"], ["ALGO": "winograd", "NB": "4", "ITEMS": "2"], ["ALGO": "winograd", "NB": "2", "ITEMS": "2"],
        ["ALGO": "winograd", "NB": "2", "ITEMS": "8"],
    ]
    private static let winograd: [[String: String]] = [
        ["ALGO": "direct"], ["ALGO": "winograd", "MR": "16", "NV": "1"], ["ALGO": "winograd", "MR": "8", "NV": "1"],
        ["ALGO": "winograd", "MR": "8", "NV": "2"],
    ]

    /// The tables of one kernel style (the direct kernel's before the algorithm choices, which
    /// time the direct kernel with its tuned tiles).
    public static func all(for style: KernelStyle) -> [TileTable] {
        [gemmCPU, gemmFusedCPU, gemmGPU, convForwardWide, convForwardNarrow, convGPU, convWeightGPU,
         conv3x3ForwardWide, conv3x3ForwardNarrow, conv3x3BackwardInputWide,
         conv3x3BackwardInputNarrow, conv3x3BackwardWeightWide, conv3x3BackwardWeightNarrow].filter { $0.style == style }
    }
}
