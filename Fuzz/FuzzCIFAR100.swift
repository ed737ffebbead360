// libFuzzer entry point for the CIFAR-100 record parser. Built by Fuzz/run.sh.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCIFAR100(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let (set, coarse) = try? CIFAR100.parseRecords(bytes, path: "fuzz") {
        precondition(set.count * CIFAR100.recordSize == bytes.count && coarse.count == set.count)
        precondition(set.labels.allSatisfy { (0..<100).contains($0) } && coarse.allSatisfy { (0..<20).contains($0) })
    }
    return 0
}
