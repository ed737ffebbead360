import CZlib

/// gzip (RFC 1952) through zlib, in memory. Decompression checks the trailer CRC and length
/// (zlib does), reports a stream that ends early as truncated, and refuses trailing bytes that
/// are not another gzip member, so a damaged download is an error, never a short data set.
/// Package-visible for `compress`, which the tests' synthetic data sets use.
package enum Gzip {
    /// The two bytes every gzip member starts with.
    static func hasMagic(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Inflates every gzip member in `bytes`, one after another (as `gunzip` does).
    /// - Parameters:
    ///   - limit: most output bytes accepted (a guard against decompression bombs); the default,
    ///     4 GiB, is far above any data set this module reads.
    ///   - declaredSize: given the output so far, the exact size the content says it has (e.g. an
    ///     IDX header), or nil while too little has arrived to tell. Once known, it is the limit:
    ///     inflation stops as soon as more arrives, and the output is reserved at exactly that
    ///     size, so a bomb behind a valid header costs at most the declared size (plus one chunk).
    static func decompress(_ bytes: [UInt8], path: String, limit: Int = 1 << 32,
                           declaredSize: (([UInt8]) throws -> Int?)? = nil) throws -> [UInt8] {
        guard hasMagic(bytes) else {
            throw DataError(.badGzip, path: path, expected: "gzip data (first bytes 1f 8b)",
                            found: "first bytes " + hexPrefix(bytes))
        }
        var stream = z_stream()
        // 15 + 16: the largest window, gzip header and trailer (not zlib, not raw deflate).
        var status = inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw DataError(.badGzip, path: path, expected: "zlib to start inflating",
                            found: "inflateInit2 status \(status)")
        }
        defer { inflateEnd(&stream) }

        // The trailer's ISIZE (length mod 2^32) is a good first guess at the output size. It is
        // untrusted, so the guess is also capped by deflate's best ratio (about 1032:1): a forged
        // trailer on a small file must not reserve hundreds of megabytes.
        var output = [UInt8]()
        var limit = limit
        var declared: Int?   // what the content declared, once known
        if bytes.count >= 18 && declaredSize == nil {
            let n = bytes.count
            let isize = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
            output.reserveCapacity(min(isize, limit, bytes.count * 1032, 1 << 28))
        }
        let chunkSize = 1 << 16  // 64 KiB of output per inflate call
        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: chunkSize)
        defer { chunk.deallocate() }

        try bytes.withUnsafeBufferPointer { input in
            var consumed = 0  // bytes of `input` handed to zlib so far
            stream.avail_in = 0
            while true {
                if stream.avail_in == 0 && consumed < input.count {
                    // avail_in is 32-bit: feed at most 1 GiB at a time.
                    let take = min(input.count - consumed, 1 << 30)
                    stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + consumed)
                    stream.avail_in = UInt32(take)
                    consumed += take
                }
                stream.next_out = chunk
                stream.avail_out = UInt32(chunkSize)
                status = inflate(&stream, Z_NO_FLUSH)
                let produced = chunkSize - Int(stream.avail_out)
                if produced > 0 {
                    guard output.count + produced <= limit else {
                        throw DataError(.badGzip, path: path,
                                        expected: "at most \(limit) decompressed bytes"
                                            + (declared != nil ? " (the size its header declares)" : ""),
                                        found: "more; refusing to inflate further")
                    }
                    output.append(contentsOf: UnsafeBufferPointer(start: chunk, count: produced))
                    if declared == nil, let declaredSize, let size = try declaredSize(output) {
                        declared = size
                        limit = min(limit, size)
                        guard output.count <= limit else {
                            throw DataError(.badGzip, path: path,
                                            expected: "at most \(limit) decompressed bytes (the size its header declares)",
                                            found: "more; refusing to inflate further")
                        }
                        var exact = [UInt8]()
                        exact.reserveCapacity(limit)
                        exact.append(contentsOf: output)
                        output = exact
                    }
                }
                let remaining = Int(stream.avail_in) + (input.count - consumed)
                switch status {
                case Z_STREAM_END:
                    if remaining == 0 { return }
                    let offset = input.count - remaining
                    guard remaining >= 2, input[offset] == 0x1f, input[offset + 1] == 0x8b else {
                        throw DataError(.badGzip, path: path, expected: "end of file after the gzip stream",
                                        found: "\(remaining) trailing bytes that are not a gzip member")
                    }
                    inflateReset(&stream)  // another member follows
                case Z_OK:
                    continue
                case Z_BUF_ERROR where remaining == 0:
                    // No input left and the stream has not ended.
                    throw truncated(path: path, after: output.count)
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                    throw DataError(.badGzip, path: path, expected: "a valid gzip stream",
                                    found: "corrupt data (\(message)) after \(output.count) decompressed bytes")
                }
            }
        }
        return output
    }

    private static func truncated(path: String, after count: Int) -> DataError {
        DataError(.badGzip, path: path, expected: "a complete gzip stream",
                  found: "it ends early (truncated) after \(count) decompressed bytes",
                  hint: "Download the file again.")
    }

    /// Compresses `bytes` as one gzip member (used by tests and the fuzz seed corpus).
    package static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(bytes.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let written: Int = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                let status = deflate(&stream, Z_FINISH)
                return status == Z_STREAM_END ? out.count - Int(stream.avail_out) : -1
            }
        }
        return written < 0 ? [] : Array(output[0..<written])
    }

    static func hexPrefix(_ bytes: [UInt8], count: Int = 4) -> String {
        if bytes.isEmpty { return "none (0 bytes)" }
        return bytes.prefix(count).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: " ")
    }
}
