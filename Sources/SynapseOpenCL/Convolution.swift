// Convolution (stride 1, NCHW, square kernels, zero padding) for the OpenCL backend, in the two
// kernel styles (`KernelStyle`). CPU style: implicit GEMM on a padded copy with register tiles
// and float16 vectors, no barriers; GPU style: implicit GEMM with local-memory tiles reading the
// unpadded input with bounds checks. Kernels: Kernels/conv.cl (its header explains both). The
// input gradient runs on the forward kernels (flipped weights); the weight gradient sums
// partial products per chunk of images, reduced afterwards (no atomics).
import SynapseEngine

/// Tile parameters of the convolution kernels, per style (the kernels' -D defines; the GEMM's
/// are tuned per device, see `TileTables`). CPU values were measured on PoCL 3.1, 2 Zen 4 cores
/// (AVX-512). GPU tiles come from the tuner (`TileTables.convGPU`, `convWeightGPU`).
enum ConvolutionTiles {
    /// CPU convolution weight gradient: DMR filters × TC (c, r, s) columns per work-item, and the
    /// images per partial sum (a chunk of the batch is one unit of parallel work). A tuner table
    /// of 8 candidates (4 × 4 to 8 × 3, chunks of 2 to 8) measured no faster on the Intel Xeon at
    /// batch 256 (docs/performance.md); the 3×3 layers of 8 to 64 channels may run Winograd.
    static let cpuWeightGradient = ["DMR": "4", "TC": "4"]
    static let cpuWeightGradientChunk = 4
    /// GPU convolution weight gradient: about this many work-groups in flight (tiles × chunks).
    static let gpuWeightGradientGroups = 512

    /// CPU forward convolution (also the input gradient's): the tuner's table for the output
    /// width's class (`TileTables.convForwardNarrow` for rows of ≤ 16, else `convForwardWide`),
    /// except MR = 4 for ≤ 4 filters (fewer wasted rows than any tuned MR).
    static func cpuConv(_ backend: OpenCLBackend, outChannels: Int, outWidth: Int) throws -> [String: String] {
        var defines = try backend.tiles(outWidth <= 16 ? TileTables.convForwardNarrow : TileTables.convForwardWide)
        if outChannels <= 4 { defines["MR"] = "4" }
        return defines
    }

    /// GPU convolution (forward and input gradient: `TileTables.convGPU`; weight gradient:
    /// `TileTables.convWeightGPU`): a TM-filter × TN-position tile per work-group, TK deep, WM × WN
    /// per work-item, as the tuner chose for this device. With ≤ 32 filters a TM above 32 would
    /// leave most of each tile idle, so TM and WM are scaled down together to TM = 32: the
    /// work-group keeps its shape (TM/WM rows of work-items). The tuner's checks include such
    /// layers, so the scaled form of every candidate is checked against the reference too.
    static func gpuConv(_ backend: OpenCLBackend, _ table: TileTable, outChannels: Int) throws
        -> (defines: [String: String], local: [Int], tm: Int, tn: Int) {
        var defines = try backend.tiles(table)
        var tm = backend.tileSize(defines, "TM"), wm = backend.tileSize(defines, "WM")
        let tn = backend.tileSize(defines, "TN"), wn = backend.tileSize(defines, "WN")
        if outChannels <= 32 && tm > 32 && (wm * 32) % tm == 0 {
            wm = wm * 32 / tm
            tm = 32
            defines["TM"] = "\(tm)"
            defines["WM"] = "\(wm)"
        }
        return (defines, [max(1, tn / wn), max(1, tm / wm), 1], tm, tn)
    }
}

extension OpenCLBackend {
    // MARK: Convolution

    private func checkConv(_ s: ConvShape, op: String) throws {
        // Kernels index with 32-bit ints inside one tensor.
        _ = try checkedInt(max(s.inputCount, s.outputCount, s.weightCount), "\(op): element count of \(s)")
    }

    /// Zero floats after the last plane of a padded copy, so that the CPU kernels' vector reads
    /// past a tile's end (at most NR + 2R floats beyond the last plane, NR ≤ 64 in every tile
    /// table) stay inside the buffer.
    private func padSlack(_ kernelSize: Int) -> Int { 64 + 2 * kernelSize }

    /// How many leading images of an unpadded input (`imageSize` floats each) the CPU kernels may
    /// read in place: those followed by at least `slack` floats of the same tensor, since the
    /// kernels' vector reads run up to that far past an image's last plane.
    private func inPlaceImages(batch: Int, imageSize: Int, slack: Int) -> Int {
        imageSize > 0 ? max(0, batch - ceilDiv(slack, imageSize)) : 0
    }

    /// Copies `planes` planes of `height` × `width` floats from `source` into workspace `slot`
    /// as planes of `rows` × `rowLength` (placed at `top`, `left`; zeros around, negative = crop),
    /// `planeStride` floats apart, followed by `slack` zeros.
    func padded(_ source: Tensor, planes: Int, height: Int, width: Int, rows: Int, rowLength: Int,
                        planeStride: Int, top: Int, left: Int, slack: Int, slot: String) throws -> Tensor {
        let total = planes * planeStride + slack
        _ = try checkedInt(total, "padded copy size")
        let destination = try workspace(slot, count: total)
        try launch(kernel(file: "conv.cl", name: "conv_pad"),
                   [.int(try checkedInt(planes, "planes")), .int(try checkedInt(height, "H")),
                    .int(try checkedInt(width, "W")), .tensor(source),
                    .int(try checkedInt(rows, "padded H")), .int(try checkedInt(rowLength, "padded W")),
                    .int(try checkedInt(planeStride, "plane stride")), .int(try checkedInt(top, "pad")),
                    .int(try checkedInt(left, "pad")), .tensor(destination), .int(try checkedInt(slack, "slack"))],
                   global: [planes + 1])
        return destination
    }

    /// wt[c][k][r][s] = w[k][c][R−1−r][R−1−s] in workspace "conv.flipped".
    private func flippedWeights(_ s: ConvShape, _ weight: Tensor) throws -> Tensor {
        let flipped = try workspace("conv.flipped", count: max(1, s.weightCount))
        try launch(kernel(file: "conv.cl", name: "conv_flip_weights"),
                   [.int(try checkedInt(s.outChannels, "K")), .int(try checkedInt(s.inChannels, "C")),
                    .int(try checkedInt(s.kernelSize, "R")), .tensor(weight), .tensor(flipped)],
                   global: [s.weightCount])
        return flipped
    }

    /// The row length of a padded copy of rows `width` wide with `border` zeros on each side
    /// whose left and right borders are shared: width + border, each row's left zeros serving
    /// as the previous row's right ones (a read (p + r)·rowLength + q + s past a row's end lands
    /// in the next row's left border, or after the last row in the next plane's top border or
    /// the slack). Saves border floats a row, and lanes of the flat tiles. Only for borders of
    /// 1 to R − 1 (the valid convolution's rows, width + 2·border − R + 1, must fit in a row);
    /// others (a crop, border < 0, included) keep width + 2·border.
    private func sharedBorderRow(width: Int, border: Int, kernelSize: Int) -> Int {
        border > 0 && border <= kernelSize - 1 ? width + border : width + 2 * border
    }

    /// CPU style: a valid convolution of an already padded input `xp` ([batch][channels][hp][wp]
    /// plus slack, wp the row length) producing [batch][filters][p][q] (q ≤ wp; p + R − 1 ≤ hp),
    /// bias + ReLU fused when `bias` is given, with the tiles `defines`
    /// (`ConvolutionTiles.cpuConv`, resolved by the caller before it fills any workspace: a
    /// first-use tuning runs convolutions that reuse the workspaces).
    private func cpuValidConv(batch: Int, channels: Int, hp: Int, wp: Int, p: Int, q: Int, filters: Int, r: Int,
                              xp: Tensor, weight: Tensor, bias: Tensor?, relu: Bool, output: Tensor,
                              defines: [String: String]) throws {
        let mr = tileSize(defines, "MR"), nr = tileSize(defines, "NR")
        // FLAT=1 tiles: NR consecutive positions of the flat range [0, P·wp) of the padded
        // plane per work-item instead of NR of one output row.
        let flat = defines["FLAT"] == "1"
        try launch(kernel(file: "conv.cl", name: "conv_fwd_cpu", defines: defines),
                   [.int(try checkedInt(channels, "C")), .int(try checkedInt(hp, "Hp")), .int(try checkedInt(wp, "Wp")),
                    .int(try checkedInt(filters, "K")), .int(try checkedInt(r, "R")),
                    .int(try checkedInt(p, "P")), .int(try checkedInt(q, "Q")),
                    .tensor(xp), .tensor(weight), .tensor(bias ?? weight), .int(bias == nil ? 0 : 1),
                    .int(relu ? 1 : 0), .tensor(output)],
                   global: [flat ? ceilDiv(p * wp, nr) : p * ceilDiv(q, nr), ceilDiv(filters, mr), batch])
    }

    /// GPU style: out[n][filters][p][q] of an unpadded input [batch][channels][h][w] read with
    /// padding `pad` (may be negative: a crop), bias + ReLU fused when `bias` is given.
    private func gpuConv(batch: Int, channels: Int, h: Int, w: Int, filters: Int, r: Int, pad: Int,
                         input: Tensor, weight: Tensor, bias: Tensor?, relu: Bool, output: Tensor) throws {
        let p = h + 2 * pad - r + 1, q = w + 2 * pad - r + 1
        let tiles = try ConvolutionTiles.gpuConv(self, TileTables.convGPU, outChannels: filters)
        try launch(kernel(file: "conv.cl", name: "conv_fwd_gpu", defines: tiles.defines),
                   [.int(try checkedInt(channels, "C")), .int(try checkedInt(h, "H")), .int(try checkedInt(w, "W")),
                    .int(try checkedInt(filters, "K")), .int(try checkedInt(r, "R")), .int(try checkedInt(pad, "pad")),
                    .int(try checkedInt(p, "P")), .int(try checkedInt(q, "Q")),
                    .tensor(input), .tensor(weight), .tensor(bias ?? weight), .int(bias == nil ? 0 : 1),
                    .int(relu ? 1 : 0), .tensor(output)],
                   global: [ceilDiv(p * q, tiles.tn) * tiles.local[0], ceilDiv(filters, tiles.tm) * tiles.local[1], batch],
                   local: tiles.local)
    }

    public func conv2dForward(_ s: ConvShape, input: Tensor, weight: Tensor, bias: Tensor,
                              relu: Bool, output: Tensor) throws {
        let op = "conv2dForward"
        try OpContract.conv2dForward(s, input: input, weight: weight, bias: bias, output: output)
        try checkConv(s, op: op)
        if s.batch == 0 || s.outChannels == 0 { return }
        switch style {
        case .cpu:
            if try winogradForward(s, input: input, weight: weight, bias: bias, relu: relu, output: output) { return }
            let defines = try ConvolutionTiles.cpuConv(self, outChannels: s.outChannels, outWidth: s.outWidth)
            let hp = s.height + 2 * s.padding, wp = sharedBorderRow(width: s.width, border: s.padding, kernelSize: s.kernelSize)
            // A valid convolution reads the input in place for the leading images (their reads
            // past a plane's end land in the next image); only the trailing ones are copied.
            let head = s.padding == 0 ? inPlaceImages(batch: s.batch, imageSize: s.inputCount / s.batch,
                                                      slack: padSlack(s.kernelSize)) : 0
            if head > 0 {
                try cpuValidConv(batch: head, channels: s.inChannels, hp: hp, wp: wp, p: s.outHeight, q: s.outWidth,
                                 filters: s.outChannels,
                                 r: s.kernelSize, xp: input, weight: weight, bias: bias, relu: relu, output: output,
                                 defines: defines)
            }
            if head < s.batch {
                let inImage = s.inputCount / s.batch, outImage = s.outputCount / s.batch, tail = s.batch - head
                let xp = try padded(input.view(at: head * inImage, shape: [tail * inImage]),
                                    planes: tail * s.inChannels, height: s.height, width: s.width,
                                    rows: hp, rowLength: wp, planeStride: hp * wp, top: s.padding, left: s.padding,
                                    slack: padSlack(s.kernelSize), slot: "conv.paddedInput")
                try cpuValidConv(batch: tail, channels: s.inChannels, hp: hp, wp: wp, p: s.outHeight, q: s.outWidth,
                                 filters: s.outChannels,
                                 r: s.kernelSize, xp: xp, weight: weight, bias: bias, relu: relu,
                                 output: output.view(at: head * outImage, shape: [tail * outImage]), defines: defines)
            }
        case .gpu:
            try gpuConv(batch: s.batch, channels: s.inChannels, h: s.height, w: s.width, filters: s.outChannels,
                        r: s.kernelSize, pad: s.padding, input: input, weight: weight, bias: bias, relu: relu,
                        output: output)
        }
    }

    /// dInput is the valid convolution of dOutput padded by R−1−pad with the flipped, transposed
    /// weights (so it runs on the forward kernels, with no scatter and no atomics). The ReLU
    /// backward (`reluOutput`) is applied by Winograd's store, else by `reluBackward` after.
    public func conv2dBackwardInput(_ s: ConvShape, dOutput: Tensor, weight: Tensor, reluOutput: Tensor?,
                                    dInput: Tensor) throws {
        let op = "conv2dBackwardInput"
        try OpContract.conv2dBackwardInput(s, dOutput: dOutput, weight: weight, reluOutput: reluOutput, dInput: dInput)
        try checkConv(s, op: op)
        if s.batch == 0 || s.inChannels == 0 { return }
        if s.outChannels == 0 {
            try fill(dInput.view(at: 0, shape: [s.inputCount]), value: 0)
            return
        }
        if try winogradBackwardInput(s, dOutput: dOutput, weight: weight, reluOutput: reluOutput, dInput: dInput) {
            return
        }
        let defines = style == .cpu ? try ConvolutionTiles.cpuConv(self, outChannels: s.inChannels, outWidth: s.width) : [:]
        let flipped = try flippedWeights(s, weight)
        let border = s.kernelSize - 1 - s.padding
        switch style {
        case .cpu:
            let hp = s.outHeight + 2 * border, wp = sharedBorderRow(width: s.outWidth, border: border, kernelSize: s.kernelSize)
            let dyp = try padded(dOutput, planes: s.batch * s.outChannels, height: s.outHeight, width: s.outWidth,
                                 rows: hp, rowLength: wp, planeStride: hp * wp, top: border, left: border,
                                 slack: padSlack(s.kernelSize), slot: "conv.paddedGradient")
            try cpuValidConv(batch: s.batch, channels: s.outChannels, hp: hp, wp: wp, p: s.height, q: s.width,
                             filters: s.inChannels,
                             r: s.kernelSize, xp: dyp, weight: flipped, bias: nil, relu: false, output: dInput,
                             defines: defines)
        case .gpu:
            try gpuConv(batch: s.batch, channels: s.outChannels, h: s.outHeight, w: s.outWidth,
                        filters: s.inChannels, r: s.kernelSize, pad: border, input: dOutput, weight: flipped,
                        bias: nil, relu: false, output: dInput)
        }
        if let reluOutput {
            try reluBackward(output: reluOutput, dOutput: dInput, count: s.inputCount, dInput: dInput)
        }
    }

    public func conv2dBackwardWeight(_ s: ConvShape, input: Tensor, dOutput: Tensor,
                                     dWeight: Tensor, dBias: Tensor) throws {
        let op = "conv2dBackwardWeight"
        try OpContract.conv2dBackwardWeight(s, input: input, dOutput: dOutput, dWeight: dWeight, dBias: dBias)
        try checkConv(s, op: op)
        if s.outChannels == 0 { return }
        let r = s.kernelSize, crs = s.inChannels * r * r
        let reduce = try kernel(file: "conv.cl", name: "conv_reduce")
        switch style {
        case .cpu:
            if try winogradBackwardWeight(s, input: input, dOutput: dOutput, dWeight: dWeight, dBias: dBias) { return }
            let hp = s.height + 2 * s.padding, wp = s.width + 2 * s.padding
            let p = s.outHeight
            // Rows of dOutput that are whole float16 vectors (Q a multiple of 16) are read in place
            // (conv_dw_rows_cpu); otherwise dOutput is copied to the wide layout: rows of wp floats
            // (zeros at q ≥ Q), planes rounded up to whole vectors. (Reading those in place with
            // masked lanes measured slower than the copy.)
            let inPlace = s.outWidth % 16 == 0
            let wideLength = inPlace ? p * s.outWidth : ceilDiv(p * wp, 16) * 16
            let chunk = ConvolutionTiles.cpuWeightGradientChunk
            let groups = ceilDiv(s.batch, chunk)
            let partial = try workspace("conv.partialWeight", count: max(1, groups * s.outChannels * crs))
            let partialBias = try workspace("conv.partialBias", count: max(1, groups * s.outChannels))
            _ = try checkedInt(groups * s.outChannels * crs, "partial weight gradient size")
            if s.batch > 0 {
                let dyw = inPlace ? dOutput
                    : try padded(dOutput, planes: s.batch * s.outChannels, height: p, width: s.outWidth,
                                 rows: p, rowLength: wp, planeStride: wideLength, top: 0, left: 0, slack: 0,
                                 slot: "conv.wideGradient")
                let defines = ConvolutionTiles.cpuWeightGradient
                let dmr = tileSize(defines, "DMR"), tc = tileSize(defines, "TC")
                // Images [first, first + count) (first a multiple of chunk) into their partial sums
                // of the weight and (the first column tile's work-items) the bias gradient.
                func weightGradient(first: Int, count: Int, x: Tensor) throws {
                    let firstGroup = first / chunk, groupCount = ceilDiv(count, chunk)
                    try launch(kernel(file: "conv.cl", name: inPlace ? "conv_dw_rows_cpu" : "conv_dw_cpu", defines: defines),
                               [.int(try checkedInt(s.inChannels, "C")), .int(try checkedInt(hp, "Hp")),
                                .int(try checkedInt(wp, "Wp")), .int(try checkedInt(s.outChannels, "K")),
                                .int(try checkedInt(r, "R")),
                                .int(try checkedInt(inPlace ? s.outWidth : wideLength, inPlace ? "Q" : "wide plane")),
                                .int(try checkedInt(count, "N")), .int(try checkedInt(chunk, "chunk")), .tensor(x),
                                .tensor(dyw.view(at: first * s.outChannels * wideLength,
                                                 shape: [count * s.outChannels * wideLength])),
                                .tensor(partial.view(at: firstGroup * s.outChannels * crs,
                                                     shape: [groupCount * s.outChannels * crs])),
                                .tensor(partialBias.view(at: firstGroup * s.outChannels,
                                                         shape: [groupCount * s.outChannels]))],
                               global: [ceilDiv(crs, tc), ceilDiv(s.outChannels, dmr), groupCount])
                }
                // A valid convolution reads the input in place for whole chunks of leading images
                // (their reads past a plane's end land in the next image); the rest is copied.
                let inImage = s.inputCount / s.batch
                let head = s.padding == 0
                    ? inPlaceImages(batch: s.batch, imageSize: inImage, slack: padSlack(r)) / chunk * chunk : 0
                if head > 0 { try weightGradient(first: 0, count: head, x: input) }
                if head < s.batch {
                    let tail = s.batch - head
                    let xp = try padded(input.view(at: head * inImage, shape: [tail * inImage]),
                                        planes: tail * s.inChannels, height: s.height, width: s.width,
                                        rows: hp, rowLength: wp, planeStride: hp * wp, top: s.padding,
                                        left: s.padding, slack: padSlack(r), slot: "conv.paddedInput")
                    try weightGradient(first: head, count: tail, x: xp)
                }
            }
            // groups = 0 (empty batch) sums nothing: zeros, as the contract's empty sum.
            try launch(reduce, [.int(try checkedInt(s.weightCount, "weights")), .int(try checkedInt(groups, "groups")),
                                .tensor(partial), .tensor(dWeight)], global: [ceilDiv(s.weightCount, 16)])
            try launch(reduce, [.int(try checkedInt(s.outChannels, "K")), .int(try checkedInt(groups, "groups")),
                                .tensor(partialBias), .tensor(dBias)], global: [ceilDiv(s.outChannels, 16)])
        case .gpu:
            let tiles = try ConvolutionTiles.gpuConv(self, TileTables.convWeightGPU, outChannels: s.outChannels)
            let tileCount = ceilDiv(crs, tiles.tn) * ceilDiv(s.outChannels, tiles.tm)
            let wanted = max(1, min(s.batch, ceilDiv(ConvolutionTiles.gpuWeightGradientGroups, tileCount)))
            let chunk = max(1, ceilDiv(s.batch, wanted))
            let groups = ceilDiv(s.batch, chunk)
            let partial = try workspace("conv.partialWeight", count: max(1, groups * s.outChannels * crs))
            _ = try checkedInt(groups * s.outChannels * crs, "partial weight gradient size")
            try launch(kernel(file: "conv.cl", name: "conv_dw_gpu", defines: tiles.defines),
                       [.int(try checkedInt(s.inChannels, "C")), .int(try checkedInt(s.height, "H")),
                        .int(try checkedInt(s.width, "W")), .int(try checkedInt(s.outChannels, "K")),
                        .int(try checkedInt(r, "R")), .int(try checkedInt(s.padding, "pad")),
                        .int(try checkedInt(s.outHeight, "P")), .int(try checkedInt(s.outWidth, "Q")),
                        .int(try checkedInt(s.batch, "N")), .int(try checkedInt(chunk, "chunk")),
                        .tensor(input), .tensor(dOutput), .tensor(partial)],
                       global: [ceilDiv(crs, tiles.tn) * tiles.local[0], ceilDiv(s.outChannels, tiles.tm) * tiles.local[1],
                                groups],
                       local: tiles.local)
            try launch(reduce, [.int(try checkedInt(s.weightCount, "weights")), .int(try checkedInt(groups, "groups")),
                                .tensor(partial), .tensor(dWeight)], global: [ceilDiv(s.weightCount, 16)])
            try biasBackward(dOutput, outer: s.batch, channels: s.outChannels, inner: s.outHeight * s.outWidth,
                             dBias: dBias)
        }
    }
}
