// Checkpoints a resume must refuse, each with a clear one-line reason and never a crash: the
// cases a careful user produced by hand (a shape whose product overflows, a step counter at
// 2^63−1, a short result row, a flipped exponent byte, a duplicated tensor name, edited metadata,
// NaN θ, NaN ω, negative Adam v, a FIFO in place of the file), plus the digest itself (SHA-256
// against the FIPS 180-4 examples) and config mismatches that name each differing field.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseContinual
import SynapseEngine

@Suite("Checkpoint hardening", .serialized)
struct CheckpointHardeningTests {
    @Test func sha256MatchesTheFIPSExamplesWholeAndInPieces() throws {
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
             "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
            (String(repeating: "a", count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
        ]
        var generator = SeededGenerator(seed: 0x5A256)
        for (message, digest) in vectors {
            let bytes = Array(message.utf8)
            #expect(SHA256.hex(bytes) == digest, "\(message.prefix(20))")
            // Fed in random pieces (crossing block boundaries anywhere): the same digest.
            var hasher = SHA256()
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + 1 + generator.nextInt(below: 150))
                hasher.update(Array(bytes[start..<end]))
                start = end
            }
            #expect(SHA256.hexString(hasher.finalize()) == digest)
        }
    }

    /// A run of 2 tasks stopped after task 1 (method si, reference device), trained once and
    /// copied into a fresh folder for each case.
    static let template: Result<TemporaryFolder, Error> = Result {
        let folder = try TemporaryFolder("template")
        try writeTinyMNIST(to: folder.path, seed: 21, trainPerClass: 3, testPerClass: 2)
        let status = runTool(.splitMNIST, ["--data-dir", folder.path, "--device", "reference", "--method", "si", "--epochs", "2",
                                           "--batch-size", "4", "--tasks", "2", "--seed", "5", "--out", folder.path + "/run", "--quiet"],
                             flow: { run in run.testHooks.stopAfterTasks = 1; try Experiment.standardFlow(run) })
        guard status == 1, FileManager.default.fileExists(atPath: folder.path + "/run/si.checkpoint.safetensors") else {
            throw CocoaError(.fileNoSuchFile)
        }
        return folder   // kept (with its data) for the whole test process
    }

    /// A fresh copy of the stopped run (its data folder too, which the saved config names).
    static func stoppedRun(_ label: String) throws -> (folder: TemporaryFolder, out: String, checkpoint: String) {
        let template = try Self.template.get().path
        let folder = try TemporaryFolder(label)
        let out = folder.path + "/run"
        try FileManager.default.copyItem(atPath: template + "/run", toPath: out)
        // The saved config points at the template's data folder, which stays in place.
        try? FileManager.default.removeItem(atPath: out + "/" + OutputLock.fileName)
        return (folder, out, out + "/si.checkpoint.safetensors")
    }

    /// Resumes `out`; returns the exit status and the error lines.
    static func resume(_ out: String) -> (status: Int32, lines: [String]) {
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, ["--resume", out, "--quiet"], console: captured)
        return (status, captured.errorLines)
    }

    /// The checkpoint with `edit` applied to its tensors and metadata, digests recomputed (so the
    /// cross-checks and the state checks, not the digest, must catch it).
    static func resealed(_ path: String, edit: (inout [String: [Float]], inout [String: String]) -> Void) throws {
        let file = try SafeTensors.read(from: path)
        var arrays: [String: [Float]] = [:]
        for entry in file.entries { arrays[entry.name] = entry.values }
        var metadata = file.metadata
        edit(&arrays, &metadata)
        var out = SafeTensors()
        for name in arrays.keys.sorted() { try out.add(name, values: arrays[name]!) }
        out.metadata = metadata
        CheckpointIntegrity.seal(&out)
        try out.write(to: path)
    }

    /// Runs `damage` on a fresh stopped run's checkpoint and expects the resume to stop with exit
    /// 1 and one line that names the checkpoint and says `reason`.
    func expectRefused(_ label: String, mentioning reason: String, damage: (String) throws -> Void) throws {
        let run = try Self.stoppedRun(label)
        defer { run.folder.remove() }
        try damage(run.checkpoint)
        let (status, lines) = Self.resume(run.out)
        #expect(status == 1, "\(label): \(lines)")
        #expect(lines.count == 1, "\(label): \(lines)")
        #expect(lines.first?.contains(run.checkpoint) == true, "\(label): \(lines)")
        #expect(lines.first?.contains(reason) == true, "\(label): expected '\(reason)' in \(lines)")
    }

    @Test func aShapeWhoseProductOverflowsIsAnError() throws {
        // Read directly (a crafted file) and through --resume.
        let header = "{\"theta\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}"
        var bytes = Array(header.utf8)
        while bytes.count % 8 != 0 { bytes.append(0x20) }
        bytes = (0..<8).map { UInt8(bytes.count >> (8 * $0) & 0xff) } + bytes + [UInt8](repeating: 0, count: 8)
        #expect(throws: SafeTensorsError.self) { try SafeTensors(bytes: bytes, path: "x") }
        try expectRefused("shape", mentioning: "holds more elements") { path in
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
    }

    @Test func aStepCounterAtTheTopOfIntIsRefused() throws {
        try expectRefused("step", mentioning: "globalStep") { path in
            try Self.resealed(path) { _, metadata in metadata["counter.globalStep"] = String(Int.max) }
        }
    }

    @Test func aShortResultRowIsRefused() throws {
        try expectRefused("row", mentioning: "accuracy row 1") { path in
            try Self.resealed(path) { _, metadata in
                var result = try! JSONSerialization.jsonObject(with: Data(metadata["result"]!.utf8)) as! [String: Any]
                var rows = result["taskIncrementalAccuracy"] as! [[Double]]
                rows[0].removeLast()
                result["taskIncrementalAccuracy"] = rows
                metadata["result"] = String(decoding: try! JSONSerialization.data(withJSONObject: result), as: UTF8.self)
            }
        }
    }

    @Test func aFlippedExponentByteIsRefused() throws {
        try expectRefused("flip", mentioning: "tensor_sha256") { path in
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let headerEnd = 8 + (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
            var generator = SeededGenerator(seed: 77)
            // The high byte of a random float (sign and 7 exponent bits), little-endian.
            let element = generator.nextInt(below: (bytes.count - headerEnd) / 4)
            bytes[headerEnd + 4 * element + 3] ^= 0x01 << UInt8(generator.nextInt(below: 7))
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
    }

    @Test func aDuplicatedTensorNameIsRefused() throws {
        try expectRefused("duplicate", mentioning: "twice") { path in
            // The header text with the first tensor's entry written twice under one name.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let length = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
            let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
            let first = header.range(of: "},")!
            let entry = String(header[header.index(after: header.startIndex)..<first.upperBound])
            var doubled = Array(("{" + entry + String(header.dropFirst())).utf8)
            while doubled.count % 8 != 0 { doubled.append(0x20) }
            bytes = (0..<8).map { UInt8(doubled.count >> (8 * $0) & 0xff) } + doubled + Array(bytes[(8 + length)...])
            try Data(bytes).write(to: URL(fileURLWithPath: path))
        }
    }

    @Test func editedMetadataIsRefused() throws {
        try expectRefused("edit", mentioning: "metadata_sha256") { path in
            let file = try SafeTensors.read(from: path)
            var edited = file
            edited.metadata["config"] = file.metadata["config"]!.replacingOccurrences(of: "\"seed\":5", with: "\"seed\":6")
            #expect(edited.metadata["config"] != file.metadata["config"])
            try edited.write(to: path)
        }
    }

    @Test(arguments: ["nan theta", "nan omega", "negative v"])
    func anUnhealthyStateIsRefused(_ fault: String) throws {
        try expectRefused(fault.replacingOccurrences(of: " ", with: "-"), mentioning: "unhealthy") { path in
            try Self.resealed(path) { arrays, _ in
                let name = ["nan theta": "theta", "nan omega": "omega", "negative v": "adam.v"][fault]!
                var generator = SeededGenerator(seed: UInt64(fault.count))
                let index = generator.nextInt(below: arrays[name]!.count)
                arrays[name]![index] = fault.hasPrefix("nan") ? .nan : -1e-3
            }
        }
    }

    @Test func aFIFOInPlaceOfTheCheckpointIsRefusedAsSuch() throws {
        try expectRefused("fifo", mentioning: "FIFO") { path in
            try FileManager.default.removeItem(atPath: path)
            #expect(mkfifo(path, 0o644) == 0)
        }
    }

    @Test func theUntouchedCheckpointResumes() throws {
        // The control: the same stopped run, undamaged, finishes.
        let run = try Self.stoppedRun("control")
        defer { run.folder.remove() }
        let (status, lines) = Self.resume(run.out)
        #expect(status == 0, "\(lines)")
    }

    @Test func optionDifferencesNameEachFieldWithBothValues() throws {
        var generator = SeededGenerator(seed: 0xD1FF)
        let (c1, c2) = (Double(1 + generator.nextInt(below: 9)), Double(11 + generator.nextInt(below: 9)))
        let seed = UInt64(100 + generator.nextInt(below: 100))
        let saved = ContinualOptions(method: .si, seed: 3, settings: ["c": c1])
        let current = ContinualOptions(method: .si, seed: seed, settings: ["c": c2])
        let text = try #require(OptionDifferences.between(saved: saved, current: current))
        #expect(text.contains("method_options.c: saved \(Int(c1)), this run \(Int(c2))"), "\(text)")
        #expect(text.contains("seed: saved 3, this run \(seed)"), "\(text)")
        #expect(text.split(separator: ";").count == 2, "\(text)")
        #expect(OptionDifferences.between(saved: saved, current: saved) == nil)
    }
}
