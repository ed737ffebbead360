// Option checking: every bad value is one line on stderr and exit code 2, before any work (no
// data read, no results folder made); defaults follow the protocols of docs/protocols.md.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseContinual
import SynapseEngine

@Suite("Options", .serialized)
struct OptionTests {
    /// Bad values for each flag: fixed ones for the cases a user hits, plus values drawn from a
    /// seeded generator (negative/zero counts, negative strengths, out-of-range γ).
    static func badArguments(scratch: String) -> [(arguments: [String], flag: String)] {
        var generator = SeededGenerator(seed: 0x0B5E55ED)
        let negative = -(1 + generator.nextInt(below: 1_000))
        let negativeC = -(generator.nextDouble() * 1_000 + 1e-6)
        let bigGamma = 1 + generator.nextDouble() * 10 + 1e-6
        let file = scratch + "/a-file"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        return [
            (["--method", "si,bogus"], "--method"),
            (["--method", "si,si"], "--method"),
            (["--method", ""], "--method"),
            (["--epochs", "0"], "--epochs"),
            (["--epochs", String(negative)], "--epochs"),
            (["--epochs", "three"], "--epochs"),
            (["--batch-size", "0"], "--batch-size"),
            (["--c", String(negativeC)], "--c"),
            (["--c", "nan"], "--c"),
            (["--xi", "0"], "--xi"),
            (["--lambda", "-1"], "--lambda"),
            (["--gamma", String(bigGamma)], "--gamma"),
            (["--lr", "0"], "--lr"),
            (["--lr", "inf"], "--lr"),
            (["--tasks", "0"], "--tasks"),
            (["--tasks", "6"], "--tasks"),          // split MNIST has 5
            (["--train-limit", "0"], "--train-limit"),
            (["--test-limit", String(negative)], "--test-limit"),
            (["--seed", "-1"], "--seed"),
            (["--seeds", "0,x"], "--seeds"),
            (["--seeds", "4-2"], "--seeds"),
            (["--seeds", "1,0-3"], "--seeds"),
            (["--seeds", "0-99999999"], "--seeds"),
            (["--seeds", "0,1", "--seed", "3"], "--seed"),
            (["--adam-epsilon", "0"], "--adam-epsilon"),
            (["--adam-epsilon", String(negativeC * 1e-9)], "--adam-epsilon"),
            (["--adam-epsilon", "nan"], "--adam-epsilon"),
            (["--adam-epsilon", "1e-50"], "--adam-epsilon"),   // 0 in float32
            (["--adam-variant", "adamw"], "--adam-variant"),
            (["--reset-optimizer", "maybe"], "--reset-optimizer"),
            (["--samples", "0"], "--samples"),
            (["--samples", String(negative)], "--samples"),
            (["--device", "no-such-device-\(generator.nextInt(below: 1_000_000))"], "--device"),
            (["--out", file + "/sub"], "--out"),
            (["--resume", scratch + "/never-ran"], "--resume"),
            (["--no-such-flag"], "--no-such-flag"),
            (["--method", "finetune", "--record-omega"], "--record-omega"),   // a recording of a method not run
            (["--record-omega", "--record-omega"], "--record-omega"),
        ]
    }

    @Test func everyBadOptionValueIsOneLineAndExitCodeTwoBeforeAnyWork() throws {
        let scratch = try TemporaryFolder("options")
        defer { scratch.remove() }
        let out = scratch.path + "/out"
        // --data-dir points nowhere: if a bad value slipped through, loading would fail with exit 1.
        for (arguments, flag) in Self.badArguments(scratch: scratch.path) {
            let captured = CapturedConsole()
            var full = ["--data-dir", scratch.path + "/no-data", "--device", "reference"] + arguments
            if !arguments.contains("--out") && !arguments.contains("--resume") { full += ["--out", out] }
            let status = runTool(.splitMNIST, full, console: captured)
            #expect(status == 2, "\(arguments) exited \(status): \(captured.errorLines)")
            #expect(captured.errorLines.count == 1, "\(arguments) printed \(captured.errorLines)")
            let line = captured.errorLines.first ?? ""
            #expect(line.hasPrefix("split-mnist: error: "), "\(line)")
            #expect(line.contains(flag), "\(arguments): the error does not name \(flag): \(line)")
            #expect(captured.output.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: out), "\(arguments) created the results folder")
        }
    }

    @Test func cifarSplitRejectsAnUnknownSplitWithExitCodeTwo() throws {
        let captured = CapturedConsole()
        let status = runTool(.cifarSplit, ["--split", "cifar7", "--device", "reference"], console: captured)
        #expect(status == 2)
        #expect(captured.errorLines.count == 1)
        #expect(captured.errorLines.first?.contains("--split") == true, "\(captured.errorLines)")
    }

    @Test func aFolderHoldingAnotherRunIsRefusedUnlessResumed() throws {
        let scratch = try TemporaryFolder("occupied")
        defer { scratch.remove() }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: scratch.path + "/config.json"))
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, ["--device", "reference", "--out", scratch.path, "--data-dir", "/nonexistent"],
                             console: captured)
        #expect(status == 2)
        #expect(captured.errorLines.count == 1)
        #expect(captured.errorLines.first?.contains("--resume") == true, "\(captured.errorLines)")
    }

    @Test func missingDataSaysWhereItLookedAndWhatItExpects() throws {
        let scratch = try TemporaryFolder("nodata")
        defer { scratch.remove() }
        let captured = CapturedConsole()
        let status = runTool(.cifarSplit, ["--device", "reference", "--out", scratch.path + "/out",
                                           "--data-dir", scratch.path + "/empty"], console: captured)
        #expect(status == 1)
        let text = captured.errorLines.joined(separator: "\n")
        #expect(text.contains(scratch.path + "/empty"))
        #expect(text.contains("cifar-10-batches-bin/"))
        #expect(text.contains("cifar-100-binary/"))
        #expect(text.contains("data_batch_1.bin"))
        // Nothing of a run is left behind: no config.json, so the same --out can be used again.
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out/config.json"))
    }

    @Test func helpAndListDevicesExitZeroWithoutWork() throws {
        for tool in Tool.allCases {
            let captured = CapturedConsole()
            #expect(runTool(tool, ["--help"], console: captured) == 0)
            #expect(captured.output.contains("--data-dir"))
            #expect(captured.output.contains("--record-omega"))   // declared by SI, listed with the method flags
            #expect(captured.output.contains("Exit status"))
        }
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, ["--list-devices"], console: captured) == 0)
        #expect(captured.output.contains("reference"))
    }

    @Test func defaultsFollowEachProtocolOfSIdotMD() throws {
        let none = try ExperimentOptions.parse([])
        func resolved(_ proto: ExperimentProtocol, _ tool: Tool) throws -> RunConfig {
            try RunConfig.resolve(tool: tool, experimentProtocol: proto, options: none, environment: [:],
                                  now: Date(timeIntervalSince1970: 0))
        }
        let split = try resolved(.splitMNIST, .splitMNIST)
        #expect(split.batchSize == 64 && split.epochs == 10 && split.resetOptimizerPerTask)
        #expect(split.hyperParameter("c", of: .si) == 1.0 && split.hyperParameter("xi", of: .si) == 0.001 && split.learningRate == 0.001 && split.tasks == 5)
        let permuted = try resolved(.permutedMNIST, .permutedMNIST)
        #expect(permuted.batchSize == 256 && permuted.epochs == 20 && !permuted.resetOptimizerPerTask)
        #expect(permuted.hyperParameter("c", of: .si) == 0.1 && permuted.hyperParameter("xi", of: .si) == 0.1 && permuted.tasks == 10)
        let cifar = try resolved(.splitCIFAR10_100, .cifarSplit)
        #expect(cifar.batchSize == 256 && cifar.epochs == 60 && cifar.resetOptimizerPerTask)
        #expect(cifar.hyperParameter("c", of: .si) == 0.1 && cifar.hyperParameter("xi", of: .si) == 0.001 && cifar.tasks == 6)
        #expect(cifar.methods == [.si, .finetune] && cifar.seed == 0 && cifar.dataDir == "./data")
        #expect(cifar.out.hasPrefix("runs/cifar-split-"))
        #expect(cifar.followsPaperProtocol && permuted.followsPaperProtocol && split.followsPaperProtocol)
    }

    @Test func dataDirComesFromTheFlagThenSYNAPSE_DATAThenDotData() throws {
        var generator = SeededGenerator(seed: 17)
        let fromEnvironment = "/env/\(generator.nextInt(below: 1 << 30))"
        let fromFlag = "/flag/\(generator.nextInt(below: 1 << 30))"
        let plain = try ExperimentOptions.parse([])
        let flagged = try ExperimentOptions.parse(["--data-dir", fromFlag])
        func dataDir(_ options: ExperimentOptions, _ environment: [String: String]) throws -> String {
            try RunConfig.resolve(tool: .splitMNIST, experimentProtocol: .splitMNIST, options: options,
                                  environment: environment).dataDir
        }
        #expect(try dataDir(plain, ["SYNAPSE_DATA": fromEnvironment]) == fromEnvironment)
        #expect(try dataDir(flagged, ["SYNAPSE_DATA": fromEnvironment]) == fromFlag)
        #expect(try dataDir(plain, [:]) == "./data")
    }

    @Test func typedValuesOverrideDefaultsAndReachTheTrainer() throws {
        var generator = SeededGenerator(seed: 99)
        let epochs = 1 + generator.nextInt(below: 50)
        let batch = 1 + generator.nextInt(below: 300)
        let c = generator.nextDouble() * 3
        let seed = UInt64(generator.nextInt(below: 1 << 40))
        let options = try ExperimentOptions.parse(["--epochs", "\(epochs)", "--batch-size", "\(batch)",
                                                   "--c", "\(c)", "--seed", "\(seed)", "--method", "ewc, si"])
        let config = try RunConfig.resolve(tool: .permutedMNIST, experimentProtocol: .permutedMNIST,
                                           options: options, environment: [:])
        #expect(config.methods == [.ewc, .si])
        let trainer = config.continualOptions(for: .si)
        #expect(trainer.epochsPerTask == epochs && trainer.batchSize == batch && trainer.seed == seed)
        #expect(trainer.hyperParameter("c").map(Float.init) == Float(c) && trainer.method == .si)
        #expect(trainer.resetOptimizerAtTaskBoundary == false)   // permuted MNIST: no reset
        #expect(!config.followsPaperProtocol || epochs == 20)
    }

    @Test func adamRestAndSampleOptionsReachTheTrainerAndTheConfigJSON() throws {
        var generator = SeededGenerator(seed: 0xADA)
        let samples = 1 + generator.nextInt(below: 5_000)
        let epsilon = Double(1 + generator.nextInt(below: 9)) * 1e-9
        for (proto, tool) in [(ExperimentProtocol.splitMNIST, Tool.splitMNIST), (.permutedMNIST, .permutedMNIST),
                              (.splitCIFAR10_100, .cifarSplit)] {
            let defaults = try RunConfig.resolve(tool: tool, experimentProtocol: proto, options: try ExperimentOptions.parse([]),
                                                 environment: [:])
            #expect(defaults.adamVariant == .keras && defaults.optimizer == .adam && defaults.epsilon == 1e-8
                    && defaults.hyperParameter("samples", of: .ewc) == 200 && defaults.hyperParameter("samples", of: .mas) == 200)
            // The opposite of the protocol's reset, the other variant, another ε and sample count.
            let reset = defaults.resetOptimizerPerTask ? "no" : "yes"
            let options = try ExperimentOptions.parse(["--adam-variant", "standard", "--reset-optimizer", reset,
                                                       "--adam-epsilon", "\(epsilon)", "--samples", "\(samples)"])
            let config = try RunConfig.resolve(tool: tool, experimentProtocol: proto, options: options, environment: [:])
            #expect(config.resetOptimizerPerTask == !defaults.resetOptimizerPerTask)
            for method in [Method.si, .ewc, .mas] {
                let trainer = config.continualOptions(for: method)
                #expect(trainer.adamVariant == .standard && trainer.epsilon == Float(epsilon))
                #expect(trainer.resetOptimizerAtTaskBoundary == config.resetOptimizerPerTask)
                #expect(trainer.hyperParameter("samples") == (method == .si ? nil : Double(samples)))
            }
            let encoder = JSONEncoder()
            let json = try #require(try JSONSerialization.jsonObject(with: try encoder.encode(config)) as? [String: Any])
            #expect(json["adam_variant"] as? String == "standard")
            #expect((json["adam_epsilon"] as? NSNumber)?.doubleValue == epsilon)
            #expect((json["reset_optimizer_per_task"] as? Bool) == config.resetOptimizerPerTask)
            let typed = try #require(json["hyper_parameters"] as? [String: Any])
            #expect((typed["samples"] as? NSNumber)?.intValue == samples)
            #expect(try JSONDecoder().decode(RunConfig.self, from: try encoder.encode(config)) == config)
            // A changed reset or an ε outside the protocol's two values (docs/protocols.md) leaves the protocol.
            #expect(!config.followsPaperProtocol)
        }
    }

    @Test func onlyTheAuthorsAdamVariantAndBothEpsilonsCountAsTheProtocol() throws {
        func config(_ arguments: [String]) throws -> RunConfig {
            try RunConfig.resolve(tool: .permutedMNIST, experimentProtocol: .permutedMNIST,
                                  options: try ExperimentOptions.parse(arguments), environment: [:])
        }
        for arguments in [[], ["--adam-variant", "keras"], ["--optimizer", "adam"], ["--adam-epsilon", "1e-7"],
                          ["--adam-epsilon", "1e-8", "--adam-variant", "keras"], ["--reset-optimizer", "no"],
                          ["--samples", "17"]] {
            #expect(try config(arguments).followsPaperProtocol, "\(arguments)")
        }
        for arguments in [["--adam-epsilon", "1e-6"], ["--adam-epsilon", "3e-8"], ["--reset-optimizer", "yes"],
                          ["--adam-variant", "standard"], ["--optimizer", "sgd"], ["--seeds", "0-2", "--c", "0.1,1"]] {
            #expect(try !config(arguments).followsPaperProtocol, "\(arguments)")
        }
    }

    @Test func aConfigSavedBeforeTheAdamVariantExistedResumesAsStandard() throws {
        let config = try RunConfig.resolve(tool: .splitMNIST, experimentProtocol: .splitMNIST,
                                           options: try ExperimentOptions.parse(["--adam-variant", "keras"]), environment: [:])
        var json = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(config)) as? [String: Any])
        json["adam_variant"] = nil
        let old = try JSONDecoder().decode(RunConfig.self, from: try JSONSerialization.data(withJSONObject: json))
        #expect(old.adamVariant == .standard)
        var expected = config
        expected.adamVariant = .standard
        #expect(old == expected)
    }
}
