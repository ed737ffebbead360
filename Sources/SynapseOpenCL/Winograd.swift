// Winograd F(2×2, 3×3) convolution for the CPU style (Kernels/winograd.cl explains the kernels;
// docs/kernels.md the algorithm), as an alternative to the direct kernel that the tuner chooses
// per layer class: `TileTables.conv3x3Forward*` / `conv3x3BackwardInput*` /
// `conv3x3BackwardWeight*` list "ALGO=direct" (the default) and Winograd candidates; each is
// checked against the reference backend on ragged shapes, then timed in interleaved rounds, and
// the faster is kept. Convolution.swift calls `winogradForward` / `winogradBackwardInput` /
// `winogradBackwardWeight` first on the CPU style; they return false (and do nothing) when the
// shape is not one Winograd serves or the tuner chose the direct kernel.
import SynapseEngine
import SynapseReference

extension OpenCLBackend {
    /// Channels (of the convolution being run) Winograd serves: at least 8 (fewer: the transforms
    /// cost more than the products save) and at most 64 (the kernel keeps 16 × channels float16
    /// vectors of transformed input in private memory, 64 KiB at 64).
    static let winogradChannels = 8...64

    /// The class table of a forward convolution with output width `q`.
    static func winogradForwardTable(outWidth q: Int) -> TileTable {
        q <= 16 ? TileTables.conv3x3ForwardNarrow : TileTables.conv3x3ForwardWide
    }

    /// The class table of an input gradient with dInput width `w`.
    static func winogradBackwardInputTable(width w: Int) -> TileTable {
        w <= 16 ? TileTables.conv3x3BackwardInputNarrow : TileTables.conv3x3BackwardInputWide
    }

    /// The class table of a weight gradient with output width `q`.
    static func winogradBackwardWeightTable(outWidth q: Int) -> TileTable {
        q <= 16 ? TileTables.conv3x3BackwardWeightNarrow : TileTables.conv3x3BackwardWeightWide
    }

    /// Filters the Winograd weight gradient serves: its scratch (three blocks per work-item, two
    /// of them filters × 16 tiles or channels per transform element) grows with them, and should
    /// stay within a core's L2 cache.
    static let winogradWeightFilters = 1...256

    /// True while the tuner tries a candidate of the direct kernel's tile tables: its timing and
    /// checks must run the direct kernel, whatever the algorithm tables chose.
    private var directTilesUnderTrial: Bool {
        tilesUnderTrial[TileTables.convForwardWide.kernel] != nil || tilesUnderTrial[TileTables.convForwardNarrow.kernel] != nil
    }

    /// The forward convolution with Winograd when `s` qualifies and the tuner chose it for its
    /// class; false (nothing done) otherwise.
    func winogradForward(_ s: ConvShape, input: Tensor, weight: Tensor, bias: Tensor, relu: Bool,
                         output: Tensor) throws -> Bool {
        guard style == .cpu, s.kernelSize == 3, Self.winogradChannels.contains(s.inChannels),
              s.outHeight > 0, s.outWidth > 0, !directTilesUnderTrial else { return false }
        let defines = try tiles(Self.winogradForwardTable(outWidth: s.outWidth))
        guard defines["ALGO"] == "winograd" else { return false }
        try winogradConv(batch: s.batch, channels: s.inChannels, height: s.height, width: s.width,
                         filters: s.outChannels, pad: s.padding, input: input, weight: weight, flip: false,
                         bias: bias, relu: relu, reluOutput: nil, output: output, defines: defines)
        return true
    }

    /// The input gradient with Winograd (a valid convolution of dOutput padded by 2 − pad with
    /// the flipped, transposed weights, flipped inside the filter transform), with the ReLU
    /// backward of `reluOutput` on store when given, if `s` qualifies and the tuner chose it;
    /// false (nothing done) otherwise.
    func winogradBackwardInput(_ s: ConvShape, dOutput: Tensor, weight: Tensor, reluOutput: Tensor?,
                               dInput: Tensor) throws -> Bool {
        guard style == .cpu, s.kernelSize == 3, s.padding <= 2, Self.winogradChannels.contains(s.outChannels),
              s.outHeight > 0, s.outWidth > 0, s.height > 0, s.width > 0, !directTilesUnderTrial else { return false }
        let defines = try tiles(Self.winogradBackwardInputTable(width: s.width))
        guard defines["ALGO"] == "winograd" else { return false }
        try winogradConv(batch: s.batch, channels: s.outChannels, height: s.outHeight, width: s.outWidth,
                         filters: s.inChannels, pad: 2 - s.padding, input: dOutput, weight: weight, flip: true,
                         bias: nil, relu: false, reluOutput: reluOutput, output: dInput, defines: defines)
        return true
    }

    /// The weight and bias gradient with Winograd F(3×3, 2×2) (Kernels/winograd.cl, wino_dw_cpu)
    /// when `s` qualifies (3×3, 8 to 64 input channels, at most 256 filters, output rows of more
    /// than 8: 5 or more tiles, so at most 2 tile rows share a vector) and the tuner chose it for
    /// its class; false (nothing done) otherwise.
    func winogradBackwardWeight(_ s: ConvShape, input: Tensor, dOutput: Tensor, dWeight: Tensor,
                                dBias: Tensor) throws -> Bool {
        guard style == .cpu, s.kernelSize == 3, s.batch > 0, Self.winogradChannels.contains(s.inChannels),
              Self.winogradWeightFilters.contains(s.outChannels), s.outHeight > 0, s.outWidth > 8 else { return false }
        let defines = try tiles(Self.winogradBackwardWeightTable(outWidth: s.outWidth))
        guard defines["ALGO"] == "winograd" else { return false }
        let c = s.inChannels, k = s.outChannels, p = s.outHeight, q = s.outWidth
        let th = ceilDiv(p, 2), tw = ceilDiv(q, 2)
        // Tile rows per vector (the forward's): one for more than 8 tiles a row, else 2 (tw ≥ 5).
        let tg = tw > 8 ? 1 : 2
        // Channel vectors, and filters per block: about 24 float16 accumulators (of the 32
        // registers of AVX-512), a whole number of blocks for the CNN's 32 and 64 filters.
        let cv = ceilDiv(c, 16)
        let dmr = [16, 8, 6, 6][cv - 1]
        let kp = ceilDiv(k, dmr) * dmr
        let nb = max(1, tileSize(defines, "NB"))
        // Work-items (each a partial sum with its own scratch, up to a few MiB at 256 filters):
        // ITEMS per compute unit, at most 64.
        let itemsWanted = min(64, max(1, tileSize(defines, "ITEMS") * max(1, device.computeUnits)))
        let scratchPerItem = 16 * (16 * nb * 16 * cv + 80) + 16 * (kp * 16 * nb + 80) + 16 * (kp * 16 * cv + 80)
            + 16 * 16 * 16 + kp * 16
        let main = try kernel(file: "winograd.cl", name: "wino_dw_cpu",
                              defines: ["CV": "\(cv)", "DMR": "\(dmr)", "TG": "\(tg)", "NB": "\(nb)"])
        // A pad-0 input is read in its own layout; others are copied into the padded layout of
        // whole tiles (conv_pad). The kernel reads up to one row plus 34 floats past an input
        // plane, and up to Q + 48 floats past a dOutput plane's last row start: the leading
        // images are read in place (their reads land in the next image), the others copied with
        // zero slack.
        let ownLayout = s.padding == 0
        let hq = ownLayout ? s.height : 2 * th + 2, wq = ownLayout ? s.width : 2 * tw + 2
        let xSlack = 2 * wq + 64, dySlack = 2 * q + 64
        let inImage = s.inputCount / s.batch, outImage = s.outputCount / s.batch, xqImage = c * hq * wq
        let head = max(0, s.batch - max(ownLayout ? ceilDiv(xSlack, inImage) : 0, ceilDiv(dySlack, outImage)))
        let tail = s.batch - head
        let launches = [(first: 0, count: head), (first: head, count: tail)].filter { $0.count > 0 }
        let items = launches.map { min($0.count, itemsWanted) }
        let groups = items.reduce(0, +)
        let crs = c * 9
        let scratchCount = (items.max() ?? 1) * scratchPerItem
        _ = try checkedInt(scratchCount, "Winograd weight-gradient scratch size")
        _ = try checkedInt(groups * k * crs, "partial weight gradient size")
        let scratch = try workspace("winograd.dwScratch", count: scratchCount)
        let partial = try workspace("conv.partialWeight", count: groups * k * crs)
        let partialBias = try workspace("conv.partialBias", count: groups * k)
        // The input copy: every image of a padded input, the tail of a pad-0 one.
        let copyFirst = ownLayout ? head : 0
        var copied = input
        if copyFirst < s.batch {
            let count = s.batch - copyFirst   // padded() checks the copy's size
            copied = try padded(input.view(at: copyFirst * inImage, shape: [count * inImage]), planes: count * c,
                                height: s.height, width: s.width, rows: hq, rowLength: wq, planeStride: hq * wq,
                                top: s.padding, left: s.padding, slack: xSlack, slot: "winograd.paddedInput")
        }
        var group = 0
        for (launchIndex, run) in launches.enumerated() {
            let x = run.first >= copyFirst
                ? copied.view(at: (run.first - copyFirst) * xqImage, shape: [run.count * xqImage])
                : input.view(at: run.first * inImage, shape: [run.count * inImage])
            // dOutput in place but for the tail, copied with slack.
            let dy = run.first == head
                ? try padded(dOutput.view(at: run.first * outImage, shape: [run.count * outImage]),
                             planes: run.count * k, height: p, width: q, rows: p, rowLength: q, planeStride: p * q,
                             top: 0, left: 0, slack: dySlack, slot: "winograd.dwGradient")
                : dOutput.view(at: run.first * outImage, shape: [run.count * outImage])
            let n = items[launchIndex]
            try launch(main,
                       [.int(try checkedInt(c, "C")), .int(try checkedInt(k, "K")), .int(try checkedInt(kp, "Kp")),
                        .int(try checkedInt(p, "P")), .int(try checkedInt(q, "Q")), .int(try checkedInt(th, "TH")),
                        .int(try checkedInt(tw, "TW")), .int(try checkedInt(hq, "Hq")), .int(try checkedInt(wq, "Wq")),
                        .int(try checkedInt(run.count, "N")), .int(try checkedInt(n, "items")),
                        .tensor(x), .tensor(dy), .tensor(scratch),
                        .tensor(partial.view(at: group * k * crs, shape: [n * k * crs])),
                        .tensor(partialBias.view(at: group * k, shape: [n * k]))],
                       global: [n], local: [1])
            group += n
        }
        let reduce = try kernel(file: "conv.cl", name: "conv_reduce")
        try launch(reduce, [.int(try checkedInt(s.weightCount, "weights")), .int(try checkedInt(groups, "groups")),
                            .tensor(partial), .tensor(dWeight)], global: [ceilDiv(s.weightCount, 16)])
        try launch(reduce, [.int(try checkedInt(k, "K")), .int(try checkedInt(groups, "groups")),
                            .tensor(partialBias), .tensor(dBias)], global: [ceilDiv(k, 16)])
        return true
    }

    /// out [batch][filters][P][Q] = the 3×3 convolution of input [batch][channels][height][width]
    /// zero-padded by `pad` (P = height + 2 pad − 2), weights [filters][channels][3][3] or, when
    /// `flip`, the forward weights [channels][filters][3][3] of an input gradient; each stored
    /// value zeroed where `reluOutput` (out's shape), when given, is not > 0.
    private func winogradConv(batch: Int, channels: Int, height: Int, width: Int, filters: Int, pad: Int,
                              input: Tensor, weight: Tensor, flip: Bool, bias: Tensor?, relu: Bool,
                              reluOutput: Tensor?, output: Tensor, defines: [String: String]) throws {
        let p = height + 2 * pad - 2, q = width + 2 * pad - 2
        let th = ceilDiv(p, 2), tw = ceilDiv(q, 2)
        // Tile rows per 16-lane vector: one when a row has more than 8 tiles, 2 for 5 to 8, else 4.
        let tg = tw > 8 ? 1 : tw > 4 ? 2 : 4
        let mr = tileSize(defines, "MR")
        let kp = ceilDiv(filters, mr) * mr
        let filterCount = 16 * channels * kp
        _ = try checkedInt(filterCount, "Winograd filter size")
        let u = try workspace("winograd.filter", count: filterCount)
        try launch(kernel(file: "winograd.cl", name: "wino_filter"),
                   [.int(try checkedInt(filters, "F")), .int(try checkedInt(channels, "E")), .int(try checkedInt(kp, "Kp")),
                    .int(flip ? 1 : 0), .tensor(weight), .tensor(u)],
                   global: [kp * channels])
        let blocks = tg == 1 ? th * ceilDiv(tw, 16) : ceilDiv(th, tg)
        let nv = max(1, tileSize(defines, "NV"))
        let kernelDefines = ["MR": "\(mr)", "NV": "\(nv)", "CH": "\(channels)", "TG": "\(tg)", "PAD": "\(pad)"]
        // The input is read in its own layout, padded on the fly by the kernel's tile loader
        // (Kernels/winograd.cl; the padding is a define, so a pad-0 layer's loads carry no masks):
        // no padded copy.
        let inputCount = batch * channels * height * width
        // One work-item per work-group: PoCL would otherwise give each of a group's work-items its
        // own copy of the private scratch (tens of KiB each) on one stack.
        try launch(kernel(file: "winograd.cl", name: "wino_fwd_cpu", defines: kernelDefines),
                   [.int(try checkedInt(filters, "K")), .int(try checkedInt(kp, "Kp")), .int(try checkedInt(p, "P")),
                    .int(try checkedInt(q, "Q")), .int(try checkedInt(th, "TH")), .int(try checkedInt(tw, "TW")),
                    .int(try checkedInt(height, "H")), .int(try checkedInt(width, "W")),
                    .int(try checkedInt(inputCount, "input size")), .int(try checkedInt(blocks, "blocks")),
                    .tensor(input.view(at: 0, shape: [inputCount])), .tensor(u), .tensor(bias ?? u),
                    .int(bias == nil ? 0 : 1), .int(relu ? 1 : 0), .tensor(reluOutput ?? u),
                    .int(reluOutput == nil ? 0 : 1), .tensor(output)],
                   global: [ceilDiv(blocks, nv), batch], local: [1, 1])
    }
}

extension TuningProbe {
    /// The direct-or-Winograd tables: checked (every candidate, against the reference backend)
    /// on ragged shapes of the class — odd sizes so the last tile is partial, channel and filter
    /// counts that are multiples of no block — and timed on the split-CIFAR CNN's layer of the
    /// class at a small batch.
    static func conv3x3Algorithm(_ kernel: String, backend: OpenCLBackend) throws -> TuningProbe? {
        switch kernel {
        case TileTables.conv3x3ForwardWide.kernel:
            return try conv3x3(backend, backward: false,
                               checks: [ConvShape(batch: 3, inChannels: 9, height: 37, width: 35, outChannels: 11, padding: 1),
                                        ConvShape(batch: 2, inChannels: 8, height: 20, width: 19, outChannels: 21, padding: 0)],
                               timed: ConvShape(batch: 16, inChannels: 32, height: 32, width: 32, outChannels: 32, padding: 0))
        case TileTables.conv3x3ForwardNarrow.kernel:
            return try conv3x3(backend, backward: false,
                               checks: [ConvShape(batch: 3, inChannels: 13, height: 15, width: 15, outChannels: 19, padding: 0),
                                        ConvShape(batch: 2, inChannels: 10, height: 9, width: 7, outChannels: 17, padding: 1)],
                               timed: ConvShape(batch: 32, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0))
        case TileTables.conv3x3BackwardInputWide.kernel:
            return try conv3x3(backend, backward: true,
                               checks: [ConvShape(batch: 3, inChannels: 11, height: 33, width: 35, outChannels: 9, padding: 0),
                                        ConvShape(batch: 2, inChannels: 19, height: 21, width: 17, outChannels: 10, padding: 1)],
                               timed: ConvShape(batch: 16, inChannels: 32, height: 32, width: 32, outChannels: 32, padding: 0))
        case TileTables.conv3x3BackwardInputNarrow.kernel:
            return try conv3x3(backend, backward: true,
                               checks: [ConvShape(batch: 3, inChannels: 13, height: 15, width: 15, outChannels: 19, padding: 0),
                                        ConvShape(batch: 2, inChannels: 7, height: 9, width: 11, outChannels: 12, padding: 1)],
                               timed: ConvShape(batch: 32, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0))
        // The weight gradient's: odd output sizes, in-place pad-0 batches (5 or more images),
        // channel counts of one to three vectors with lanes left over, filter counts that are
        // multiples of no block; timed on the CNN's layers of the class at batch 16 (conv2) and
        // 32 (conv3 + conv4: the last image, copied, runs alone, and at 16 its share would weigh).
        case TileTables.conv3x3BackwardWeightWide.kernel:
            return try convWeightGradient(backend,
                                          checks: [ConvShape(batch: 3, inChannels: 9, height: 37, width: 35, outChannels: 11, padding: 1),
                                                   ConvShape(batch: 7, inChannels: 20, height: 19, width: 20, outChannels: 13, padding: 0)],
                                          timed: [ConvShape(batch: 16, inChannels: 32, height: 32, width: 32, outChannels: 32, padding: 0)])
        case TileTables.conv3x3BackwardWeightNarrow.kernel:
            return try convWeightGradient(backend,
                                          checks: [ConvShape(batch: 6, inChannels: 13, height: 15, width: 15, outChannels: 19, padding: 0),
                                                   ConvShape(batch: 2, inChannels: 33, height: 9, width: 11, outChannels: 10, padding: 1)],
                                          timed: [ConvShape(batch: 32, inChannels: 32, height: 15, width: 15, outChannels: 64, padding: 1),
                                                  ConvShape(batch: 32, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0)])
        default: return nil
        }
    }

    /// The forward convolution (bias + ReLU) or the input gradient: checked on `checks`, timed on
    /// `timed`; the tolerance is the convolution's (`Tolerance.forConvolution`).
    private static func conv3x3(_ backend: OpenCLBackend, backward: Bool, checks: [ConvShape],
                                timed: ConvShape) throws -> TuningProbe {
        let reference = ReferenceBackend()
        var random = SeededGenerator(seed: 0x3A3)
        func uniform(_ n: Int) -> [Float] { (0..<n).map { _ in 2 * random.nextFloat() - 1 } }
        func tensor(_ b: any Backend, _ values: [Float]) throws -> Tensor {
            let t = Tensor(storage: try b.allocate(.float32, count: max(1, values.count)), shape: [values.count])
            try b.upload(values, to: t)
            return t
        }
        // Runs the op on `b`: x is the input (forward) or dOutput (backward); returns the result.
        func run(_ b: any Backend, _ s: ConvShape, x: Tensor, w: Tensor, bias: Tensor, into out: Tensor) throws {
            if backward {
                try b.conv2dBackwardInput(s, dOutput: x, weight: w, dInput: out)
            } else {
                try b.conv2dForward(s, input: x, weight: w, bias: bias, relu: true, output: out)
            }
        }
        func counts(_ s: ConvShape) -> (x: Int, out: Int) {
            backward ? (s.outputCount, s.inputCount) : (s.inputCount, s.outputCount)
        }
        var cases: [(shape: ConvShape, x: [Float], w: [Float], b: [Float], expected: [Float])] = []
        for s in checks {
            let x = uniform(counts(s).x), w = uniform(s.weightCount), b = uniform(s.outChannels)
            let out = try tensor(reference, [Float](repeating: 0, count: counts(s).out))
            try run(reference, s, x: try tensor(reference, x), w: try tensor(reference, w),
                    bias: try tensor(reference, b), into: out)
            cases.append((s, x, w, b, try reference.download(out)))
        }
        let tx = try tensor(backend, uniform(counts(timed).x)), tw = try tensor(backend, uniform(timed.weightCount))
        let tb = try tensor(backend, uniform(timed.outChannels))
        let tout = try tensor(backend, [Float](repeating: 0, count: counts(timed).out))
        return TuningProbe(problem: (backward ? "conv input gradient " : "conv forward ") + "\(timed)", check: {
            var worst = (error: 0.0, tolerance: 1.0)
            for c in cases {
                let out = try tensor(backend, [Float](repeating: .nan, count: counts(c.shape).out))
                try run(backend, c.shape, x: try tensor(backend, c.x), w: try tensor(backend, c.w),
                        bias: try tensor(backend, c.b), into: out)
                let error = Tolerance.maxError(try backend.download(out), c.expected)
                let tolerance = backward
                    ? Tolerance.forConvolution(channels: c.shape.outChannels, kernelSize: 3)
                    : Tolerance.forConvolution(channels: c.shape.inChannels, kernelSize: 3, bias: true)
                if !(error / tolerance <= worst.error / worst.tolerance) { worst = (error, tolerance) }
            }
            return worst
        }, run: {
            try run(backend, timed, x: tx, w: tw, bias: tb, into: tout)
        })
    }
}
