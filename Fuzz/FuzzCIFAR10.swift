// libFuzzer entry point for the CIFAR-10 record parser and the class-name parser.
// Built by Fuzz/run.sh together with Sources/SynapseData/*.swift (same module, so internals are visible).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCIFAR10(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let set = try? CIFAR10.parseRecords(bytes, path: "fuzz") {
        // A successful parse must account for every byte and keep labels in range.
        precondition(set.count * CIFAR10.recordSize == bytes.count)
        precondition(set.labels.allSatisfy { (0..<10).contains($0) })
    }
    _ = try? NameList.parse(bytes, path: "fuzz", expectedCount: 10)
    return 0
}
