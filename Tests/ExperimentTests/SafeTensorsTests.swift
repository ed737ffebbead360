// The safetensors writer and reader: byte layout as the format specifies it (so numpy and PyTorch
// read our checkpoints), exact round trips, and damaged files refused with the reason.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseEngine

@Suite("safetensors")
struct SafeTensorsTests {
    /// Tensors with seeded random shapes (including sizes 1, 7, 33, 257 and an empty one) and values
    /// (including −0, ±∞ and subnormals, which must survive bit for bit).
    static func randomFile(seed: UInt64) throws -> SafeTensors {
        var generator = SeededGenerator(seed: seed)
        var file = SafeTensors()
        let shapes: [[Int]] = [[1], [7], [33], [257], [0], [3, 11], [2, 1 + generator.nextInt(below: 9), 5]]
        for (index, shape) in shapes.enumerated() {
            let count = shape.reduce(1, *)
            var values = (0..<count).map { _ in Float(generator.nextDouble() * 200 - 100) }
            if count >= 7 {
                values[0] = -0.0; values[1] = .infinity; values[2] = -.infinity
                values[3] = .leastNonzeroMagnitude; values[4] = .greatestFiniteMagnitude
            }
            try file.add("t\(index).\(generator.nextInt(below: 1000))", shape: shape, values: values)
        }
        file.metadata["config"] = "{\"seed\": \(generator.nextInt(below: 1 << 30)), \"quote\": \"a\\\"b\"}"
        file.metadata["completed_tasks"] = "\(generator.nextInt(below: 10))"
        file.metadata["line\nbreak"] = "tab\there"
        return file
    }

    @Test func roundTripKeepsEveryBitNameShapeAndMetadataEntry() throws {
        for seed in [1, 2, 3] as [UInt64] {
            let file = try Self.randomFile(seed: seed)
            let back = try SafeTensors(bytes: file.serialized(), path: "memory")
            #expect(back.metadata == file.metadata)
            #expect(back.entries.map(\.name) == file.entries.map(\.name))
            for (a, b) in zip(back.entries, file.entries) {
                #expect(a.shape == b.shape)
                #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern))
            }
        }
    }

    @Test func bytesAreHeaderLengthThenJSONHeaderThenLittleEndianData() throws {
        let file = try Self.randomFile(seed: 42)
        let bytes = file.serialized()
        // 8-byte little-endian header length.
        let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        let headerEnd = 8 + Int(length)
        #expect(headerEnd % 8 == 0, "data should start 8-byte aligned")
        // The header is a JSON object: every tensor with dtype F32, its shape and data_offsets; __metadata__.
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) as? [String: Any])
        #expect(header["__metadata__"] as? [String: String] == file.metadata)
        var covered = 0
        for entry in file.entries {
            let info = try #require(header[entry.name] as? [String: Any])
            #expect(info["dtype"] as? String == "F32")
            #expect((info["shape"] as? [Int]) == entry.shape)
            let offsets = try #require(info["data_offsets"] as? [Int])
            #expect(offsets[1] - offsets[0] == 4 * entry.values.count)
            // Each element little-endian at headerEnd + begin + 4·i.
            for (i, value) in entry.values.enumerated() {
                let p = headerEnd + offsets[0] + 4 * i
                let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
                #expect(bits == value.bitPattern)
            }
            covered += offsets[1] - offsets[0]
        }
        #expect(covered == bytes.count - headerEnd, "the tensors must cover the data region exactly")
    }

    @Test func writeIsAtomicAndReadBackFromDisk() throws {
        let folder = try TemporaryFolder("st")
        defer { folder.remove() }
        let path = folder.path + "/x.safetensors"
        let first = try Self.randomFile(seed: 7)
        try first.write(to: path)
        let second = try Self.randomFile(seed: 8)
        try second.write(to: path)
        #expect(try SafeTensors.read(from: path) == second)
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["x.safetensors"])
    }

    @Test func damagedFilesAreRefusedWithTheReason() throws {
        let bytes = try Self.randomFile(seed: 9).serialized()
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        var generator = SeededGenerator(seed: 10)
        // Truncated anywhere in the data region: the tensors no longer fit.
        let cut = 8 + headerLength + generator.nextInt(below: bytes.count - 8 - headerLength)
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: Array(bytes[..<cut]), path: "cut") }
        // Fewer than 8 bytes; a header length beyond the file.
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: [1, 2, 3], path: "tiny") }
        var long = bytes
        long[7] = 0x7f
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: long, path: "long") }
        // Another dtype, overlapping offsets, a gap.
        func file(_ header: String, data: Int) -> [UInt8] {
            var h = Array(header.utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            var out = (0..<8).map { UInt8(h.count >> (8 * $0) & 0xff) }
            out += h
            out += [UInt8](repeating: 0, count: data)
            return out
        }
        let cases = [
            "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
            "[1, 2]",
        ]
        for header in cases {
            do {
                _ = try SafeTensors(bytes: file(header, data: 8), path: "case.safetensors")
                Issue.record("accepted \(header)")
            } catch let error as SafeTensorsError {
                #expect(error.description.hasPrefix("case.safetensors: "))
            }
        }
    }
}
