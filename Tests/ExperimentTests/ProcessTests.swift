// The tool as a real process: two runs started together on one folder (exactly one runs), a
// stale lock after kill -9, SIGINT/SIGTERM naming the checkpoint and the --resume command, and
// the peak memory of a gzip bomb behind a valid IDX header. The split-mnist executable is the one
// `swift build` put next to the test bundle.

import Foundation
import Testing
@testable import SynapseCLI
@testable import SynapseData
import SynapseEngine
#if canImport(Glibc)
import Glibc
#endif

/// The split-mnist executable of this build.
func splitMNISTExecutable() throws -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path,
        Bundle.main.bundleURL.deletingLastPathComponent().path,
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/.build/debug",
    ]
    for folder in candidates where FileManager.default.isExecutableFile(atPath: folder + "/split-mnist") {
        return folder + "/split-mnist"
    }
    throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: "split-mnist next to the tests (\(candidates))"])
}

/// A started child process with its stderr collected to a file.
struct Child {
    let pid: pid_t
    let stderrPath: String

    static func start(_ executable: String, _ arguments: [String], stderrPath: String) throws -> Child {
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EIO) }
        return Child(pid: pid, stderrPath: stderrPath)
    }

    /// Waits for the child; its exit status (or 128 + signal) and its peak resident memory in bytes.
    func wait() -> (status: Int32, maxRSS: Int) {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, usage.ru_maxrss * 1024)   // ru_maxrss is in KiB on Linux
    }

    var stderr: [String] {
        ((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}

@Suite("Real processes", .serialized)
struct ProcessTests {
    static func runArguments(data: String, out: String, seed: Int, epochs: Int) -> [String] {
        ["--data-dir", data, "--device", "reference", "--method", "si", "--epochs", "\(epochs)", "--batch-size", "4",
         "--seed", "\(seed)", "--out", out]
    }

    @Test func twoRunsStartedTogetherOnOneFolderExactlyOneRuns() throws {
        let tool = try splitMNISTExecutable()
        let folder = try TemporaryFolder("lock")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 4, trainPerClass: 4, testPerClass: 2)
        let out = folder.path + "/run"
        let seeds = [7, 8]
        let children = try seeds.map { seed in
            try Child.start(tool, Self.runArguments(data: folder.path, out: out, seed: seed, epochs: 3),
                            stderrPath: folder.path + "/stderr-\(seed)")
        }
        let results = children.map { $0.wait() }
        let statuses = results.map(\.status)
        #expect(statuses.sorted() == [0, 2], "\(statuses): \(children.map(\.stderr))")
        guard let winner = statuses.firstIndex(of: 0), let loser = statuses.firstIndex(of: 2) else { return }
        // The loser says why in one line: the holder (PID, host, start time), or, if it came
        // after the winner had finished, that the folder holds another run.
        let line = children[loser].stderr.joined(separator: "\n")
        #expect(children[loser].stderr.count == 1, "\(line)")
        #expect(line.contains("in use by another run: PID \(children[winner].pid) on ") || line.contains("holds another run"), "\(line)")
        // Every file of the folder comes from the winner's seed.
        let seed = seeds[winner]
        let config = try jsonObject(out + "/config.json")
        #expect((config["seed"] as? NSNumber)?.intValue == seed)
        let result = try jsonObject(out + "/si.json")
        #expect(((result["config"] as? [String: Any])?["seed"] as? NSNumber)?.intValue == seed)
        let checkpoint = try Checkpoint.load(from: out + "/si.checkpoint.safetensors")
        #expect(checkpoint.config.seed == UInt64(seed))
        let names = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!names.contains { $0.contains(".partial-") }, "\(names)")
    }

    @Test func aLockLeftByKillMinus9NeverBlocksAndItsTemporariesAreRemoved() throws {
        let tool = try splitMNISTExecutable()
        let folder = try TemporaryFolder("stale")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 5, trainPerClass: 4, testPerClass: 2)
        let out = folder.path + "/run"
        let child = try Child.start(tool, Self.runArguments(data: folder.path, out: out, seed: 3, epochs: 40),
                                    stderrPath: folder.path + "/stderr")
        // Once the first checkpoint exists the run is well under way: kill it without warning.
        let checkpoint = out + "/si.checkpoint.safetensors"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint) && Date() < deadline { usleep(20_000) }
        kill(child.pid, SIGKILL)
        #expect(child.wait().status == 128 + SIGKILL)
        #expect(FileManager.default.fileExists(atPath: out + "/" + OutputLock.fileName))
        let leftover = out + "/.si.json.partial-\(child.pid)"
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: leftover))
        // A resume takes the lock at once, cleans up, and carries on (2 epochs are enough now).
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, ["--resume", out, "--quiet"], console: captured,
                             flow: { run in run.testHooks.stopAfterTasks = 0; try Experiment.standardFlow(run) })
        #expect(!captured.errorLines.contains { $0.contains("in use") }, "\(captured.errorLines)")
        #expect(status != 2, "\(captured.errorLines)")
        #expect(!FileManager.default.fileExists(atPath: leftover))
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func aSignalNamesTheLastCheckpointAndTheResumeCommand(_ signal: Int32) throws {
        let tool = try splitMNISTExecutable()
        let folder = try TemporaryFolder("signal")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 6, trainPerClass: 4, testPerClass: 2)
        let out = folder.path + "/run dir"   // a space: the printed command must quote it
        let child = try Child.start(tool, Self.runArguments(data: folder.path, out: out, seed: 1, epochs: 40),
                                    stderrPath: folder.path + "/stderr")
        let checkpoint = out + "/si.checkpoint.safetensors"
        // The run prepares the interrupt line right after the checkpoint and before it writes the
        // task's result file, so once si.json exists the line names the checkpoint.
        let result = out + "/si.json"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: result) && Date() < deadline { usleep(20_000) }
        kill(child.pid, signal)
        let status = child.wait().status
        #expect(status == 128 + signal)
        let last = try #require(child.stderr.last)
        #expect(last.contains("interrupted; last checkpoint: \(checkpoint) (si after task "), "\(last)")
        #expect(last.hasSuffix("continue with: split-mnist --resume '\(out)'"), "\(last)")
        // And that command works from where it stopped.
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, ["--resume", out, "--quiet"], console: captured,
                        flow: { run in run.testHooks.stopAfterTasks = 0; try Experiment.standardFlow(run) }) != 2,
                "\(captured.errorLines)")
    }

    @Test func aGzipBombBehindAValidHeaderCostsAtMostTwiceTheDeclaredSize() throws {
        let tool = try splitMNISTExecutable()
        let folder = try TemporaryFolder("bomb")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 7, trainPerClass: 2, testPerClass: 1)
        // The header declares 60000 images of 28×28 (47 MB); the stream holds 1 GiB of zeros:
        // 64 gzip members of 16 MiB each (about 16 KiB compressed apiece).
        let declaredImages = 60_000
        func bigEndian(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        let header: [UInt8] = [0, 0, 8, 3] + bigEndian(declaredImages) + bigEndian(28) + bigEndian(28)
        let member = Gzip.compress([UInt8](repeating: 0, count: 1 << 24))
        var bomb = Gzip.compress(header)
        for _ in 0..<64 { bomb += member }
        let declared = 16 + declaredImages * 28 * 28
        // The baseline: the same tool stopped at the same file by a header that declares 1 image.
        let small = Gzip.compress([0, 0, 8, 3] + bigEndian(1) + bigEndian(28) + bigEndian(28)) + member
        var peaks: [Int] = []
        for (name, bytes) in [("baseline", small), ("bomb", bomb)] {
            let data = folder.path + "/" + name
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            for file in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "train-labels-idx1-ubyte"] {
                try FileManager.default.copyItem(atPath: folder.path + "/" + file, toPath: data + "/" + file)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: data + "/train-images-idx3-ubyte.gz"))
            let child = try Child.start(tool, ["--data-dir", data, "--device", "reference", "--out", data + "/out"],
                                        stderrPath: data + "/stderr")
            let (status, peak) = child.wait()
            #expect(status == 1, "\(name): \(child.stderr)")
            #expect(child.stderr.joined().contains("train-images-idx3-ubyte.gz"), "\(name): \(child.stderr)")
            peaks.append(peak)
        }
        let extra = peaks[1] - peaks[0]
        #expect(extra <= 2 * declared, "the bomb cost \(extra) bytes above the baseline; declared \(declared)")
    }
}
