// One description per run: a checkpoint carries the settings its result was made with, and no run
// continues, reports or skips it with other settings (exit 2, each differing field named with both
// values), whether or not config.json is there or was edited. And every value that could only fail
// later fails before the results folder gets a single file.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseContinual

@Suite("Run description", .serialized)
struct RunDescriptionTests {
    /// A short split-MNIST run on tiny data, on the reference backend.
    static func arguments(data: String, out: String, _ extra: [String] = []) -> [String] {
        ["--data-dir", data, "--device", "reference", "--epochs", "1", "--batch-size", "6", "--tasks", "2",
         "--seed", "5", "--out", out, "--quiet"] + extra
    }

    static func tinyData(_ folder: TemporaryFolder, _ name: String = "data", seed: UInt64 = 3) throws -> String {
        let path = folder.path + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try writeTinyMNIST(to: path, seed: seed, trainPerClass: 3, testPerClass: 2)
        return path
    }

    /// Runs and expects exit 2 with one line that names every field in `fields` (and each's values).
    static func expectRefused(_ arguments: [String], naming fields: [(name: String, saved: String, asked: String)],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, arguments, console: captured)
        #expect(status == 2, "\(captured.errorLines)", sourceLocation: sourceLocation)
        #expect(captured.errorLines.count == 1, "\(captured.errorLines)", sourceLocation: sourceLocation)
        let line = captured.errorLines.first ?? ""
        for field in fields {
            #expect(line.contains("\(field.name): saved \(field.saved), this run \(field.asked)"), "\(line)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func aRunWithAnotherStrengthIsRefusedWhenConfigJSONIsGone() throws {
        let folder = try TemporaryFolder("description-c")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let out = folder.path + "/run"
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si", "--c", "1"])) == 0)
        let before = try String(contentsOfFile: out + "/si.json", encoding: .utf8)
        try FileManager.default.removeItem(atPath: out + "/config.json")
        Self.expectRefused(Self.arguments(data: data, out: out, ["--method", "si", "--c", "1000"]),
                           naming: [("method_options.c", "1", "1000")])
        // Nothing of the first run was touched, and nothing was reported as the c = 1000 run.
        #expect(try String(contentsOfFile: out + "/si.json", encoding: .utf8) == before)
        #expect(!FileManager.default.fileExists(atPath: out + "/config.json"))
        // The same settings are the same run: it is reported (not retrained) and config.json comes back.
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si", "--c", "1"]), console: captured) == 0)
        #expect(try String(contentsOfFile: out + "/si.json", encoding: .utf8) == before)
        #expect(FileManager.default.fileExists(atPath: out + "/config.json"))
    }

    @Test func aHalfFinishedRunIsNotContinuedWithOtherDataOrLimits() throws {
        let folder = try TemporaryFolder("description-data")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let other = try Self.tinyData(folder, "other", seed: 4)
        let out = folder.path + "/run"
        let first = Self.arguments(data: data, out: out, ["--method", "finetune", "--test-limit", "6"])
        #expect(runTool(.splitMNIST, first, flow: { run in run.testHooks.stopAfterTasks = 1; try Experiment.standardFlow(run) }) != 0)
        #expect(FileManager.default.fileExists(atPath: out + "/finetune.checkpoint.safetensors"))
        try FileManager.default.removeItem(atPath: out + "/config.json")
        Self.expectRefused(Self.arguments(data: data, out: out, ["--method", "finetune", "--test-limit", "4"]),
                           naming: [("test_limit", "6", "4")])
        Self.expectRefused(Self.arguments(data: other, out: out, ["--method", "finetune", "--test-limit", "6"]),
                           naming: [("data_dir", data, other)])
        Self.expectRefused(Self.arguments(data: data, out: out, ["--method", "finetune"]),
                           naming: [("test_limit", "6", "none")])
        // The run it was continues to the end.
        #expect(runTool(.splitMNIST, first) == 0)
        let result = try jsonObject(out + "/finetune.json")
        #expect(matrix(result["accuracy"])?.count == 2)
    }

    @Test func anEditedConfigJSONIsRefusedOnResume() throws {
        let folder = try TemporaryFolder("description-edit")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let other = try Self.tinyData(folder, "other", seed: 4)
        let out = folder.path + "/run"
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si"]),
                        flow: { run in run.testHooks.stopAfterTasks = 1; try Experiment.standardFlow(run) }) != 0)
        let original = try Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))
        for (key, value, field, saved, asked) in [("data_dir", other as Any, "data_dir", data, other),
                                                  ("train_limit", 10 as Any, "train_limit", "none", "10"),
                                                  ("test_limit", 4 as Any, "test_limit", "none", "4")] {
            var object = try #require(JSONSerialization.jsonObject(with: original) as? [String: Any])
            object[key] = value
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: out + "/config.json"))
            Self.expectRefused(["--resume", out, "--quiet"], naming: [(field, saved, asked)])
        }
        // Restored, it resumes.
        try original.write(to: URL(fileURLWithPath: out + "/config.json"))
        #expect(runTool(.splitMNIST, ["--resume", out, "--quiet"]) == 0)
    }

    @Test func aCheckpointOfARunNotPlannedIsRefused() throws {
        let folder = try TemporaryFolder("description-stray")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let out = folder.path + "/run"
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "finetune"])) == 0)
        try FileManager.default.removeItem(atPath: out + "/config.json")
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si"]), console: captured) == 2)
        #expect(captured.errorLines.count == 1 && captured.errorLines[0].contains("finetune.checkpoint.safetensors"),
                "\(captured.errorLines)")
        #expect(!FileManager.default.fileExists(atPath: out + "/si.json"))
    }

    @Test func theCheckpointCarriesItsDescriptionAndDigest() throws {
        let folder = try TemporaryFolder("description-file")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let out = folder.path + "/run"
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si", "--c", "0.25"])) == 0)
        let file = try SafeTensors.read(from: out + "/si.checkpoint.safetensors")
        let text = try #require(file.metadata["description"])
        // Parsed independently: a JSON list of [name, value] pairs, hashed as stored.
        let pairs = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String]])
        let fields = Dictionary(pairs.map { ($0[0], $0[1]) }, uniquingKeysWith: { a, _ in a })
        #expect(fields["method"] == "si" && fields["method_options.c"] == "0.25" && fields["data_dir"] == data)
        #expect(fields["seed"] == "5" && fields["tasks"] == "2" && fields["epochsPerTask"] == "1" && fields["batchSize"] == "6")
        #expect(file.metadata["description_sha256"] == SHA256.hex(Array(text.utf8)))
    }

    // MARK: Every check before anything is written

    @Test(arguments: [(["--xi", "1e-50"], "--xi 1e-50"), (["--lr", "1e39"], "--lr 1e+39"), (["--lr", "1e-50"], "--lr 1e-50"),
                      (["--c", "1e39"], "--c 1e+39"), (["--adam-epsilon", "1e-45"], "--adam-epsilon 1e-45")])
    func aValueFloat32CannotHoldIsRefusedBeforeAnythingIsWritten(flag: [String], named: String) throws {
        let folder = try TemporaryFolder("description-early")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let out = folder.path + "/run"
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si"] + flag), console: captured) == 2)
        #expect(captured.errorLines.count == 1)
        #expect(captured.errorLines.first?.contains(named) == true, "\(captured.errorLines)")
        #expect(captured.errorLines.first?.contains("float32") == true, "\(captured.errorLines)")
        #expect(!FileManager.default.fileExists(atPath: out), "the results folder was created")
    }

    @Test func theCorrectedRunIntoTheSameFolderIsNotRefused() throws {
        let folder = try TemporaryFolder("description-corrected")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let out = folder.path + "/run"
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si", "--xi", "1e-50"])) == 2)
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "si", "--xi", "1e-3"])) == 0)
        #expect(FileManager.default.fileExists(atPath: out + "/si.json"))
    }

    @Test func configJSONGoesThroughTheSameChecksAsTheFlags() throws {
        let folder = try TemporaryFolder("description-config")
        defer { folder.remove() }
        let data = try Self.tinyData(folder)
        let out = folder.path + "/run"
        #expect(runTool(.splitMNIST, Self.arguments(data: data, out: out, ["--method", "finetune"]),
                        flow: { run in run.testHooks.stopAfterTasks = 1; try Experiment.standardFlow(run) }) != 0)
        let original = try Data(contentsOf: URL(fileURLWithPath: out + "/config.json"))
        let listing = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        for (key, value, named) in [("batch_size", 1_000_000 as Any, "--batch-size 1000000"), ("methods", [String]() as Any, "--method"),
                                    ("learning_rate", 1e39 as Any, "--lr"), ("epochs", 0 as Any, "--epochs 0"),
                                    ("tasks", 7 as Any, "--tasks 7")] {
            var object = try #require(JSONSerialization.jsonObject(with: original) as? [String: Any])
            object[key] = value
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: out + "/config.json"))
            let captured = CapturedConsole()
            #expect(runTool(.splitMNIST, ["--resume", out], console: captured) == 2, "\(key)")
            #expect(captured.errorLines.count == 1 && captured.errorLines[0].contains(named), "\(key): \(captured.errorLines)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == listing)
    }
}
