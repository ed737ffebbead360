// libFuzzer entry point for the IDX parser, with gzip. Built by Fuzz/run.sh.
//
// Input layout: two bytes (big-endian) give the length of the image part; the image part and the
// rest (the label part) are each inflated when they start with the gzip magic, as files are.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard bytes.count >= 2 else { return 0 }
    let split = min(bytes.count - 2, Int(bytes[0]) << 8 | Int(bytes[1]))
    // 16 MiB: enough for any small input's honest output, low enough that bombs stay cheap.
    func inflate(_ part: [UInt8]) -> [UInt8]? {
        Gzip.hasMagic(part) ? try? Gzip.decompress(part, path: "fuzz", limit: 1 << 24) : part
    }
    guard let images = inflate(Array(bytes[2..<(2 + split)])),
          let labels = inflate(Array(bytes[(2 + split)...])) else { return 0 }
    if let set = try? IDX.parsePair(images: images, imagePath: "i", labels: labels, labelPath: "l") {
        precondition(set.pixels.count == set.count * set.height * set.width)
        precondition(set.labels.allSatisfy { (0..<10).contains($0) })
    }
    return 0
}
