// What one run's results mean: the settings they depend on, one field each, in a fixed order and a
// canonical text. A checkpoint carries it (with its SHA-256), and nothing continues, reports or
// skips a run from a folder without comparing it, field by field, with the run asked for: a run
// made with other settings is never reported as this one (docs/checkpoints.md).

import Foundation
import SynapseContinual

/// One run's settings (one method, one seed, one value of each hyper-parameter) as name/value text.
public struct RunDescription: Equatable, Sendable {
    /// The fields in a fixed order; names are config.json's keys (a method's hyper-parameters as
    /// "method_options.<flag>").
    public let fields: [Field]

    public struct Field: Equatable, Sendable {
        public let name: String
        public let value: String
    }

    /// A field whose value differs between two descriptions (nil: absent on that side); worded as
    /// `OptionDifferences` words the trainer's own check of a saved state.
    public struct Difference: Equatable, Sendable, CustomStringConvertible {
        public let name: String
        public let saved: String?
        public let asked: String?
        public var description: String { "\(name): saved \(saved ?? "(absent)"), this run \(asked ?? "(absent)")" }
    }

    /// The fields as a JSON array of [name, value] pairs, in order, without spaces: the bytes the
    /// digest covers and the text a checkpoint stores.
    public var canonical: String {
        "[" + fields.map { "[" + jsonString($0.name) + "," + jsonString($0.value) + "]" }.joined(separator: ",") + "]"
    }

    /// SHA-256 of `canonical`, in hex.
    public var digest: String { SHA256.hex(Array(canonical.utf8)) }

    /// Every field that differs from `other`'s, in this description's order, then `other`'s extra fields.
    public func differences(from other: RunDescription) -> [Difference] {
        var found: [Difference] = []
        let theirs = Dictionary(other.fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        for field in fields where theirs[field.name] != field.value {
            found.append(Difference(name: field.name, saved: field.value, asked: theirs[field.name]))
        }
        let mine = Set(fields.map(\.name))
        for field in other.fields where !mine.contains(field.name) {
            found.append(Difference(name: field.name, saved: nil, asked: field.value))
        }
        return found
    }

    /// Reads `canonical` back (a checkpoint's copy); nil when it is not that format.
    public init?(canonical text: String) {
        guard let pairs = try? JSONDecoder().decode([[String]].self, from: Data(text.utf8)),
              pairs.allSatisfy({ $0.count == 2 }) else { return nil }
        fields = pairs.map { Field(name: $0[0], value: $0[1]) }
    }

    init(fields: [Field]) { self.fields = fields }
}

extension RunConfig {
    /// The description of `method`'s run under this config (its seed is `seed`; a swept
    /// hyper-parameter must already be set to the run's value, as `ExperimentRun.config(of:)` does).
    ///
    /// What the trainer is given comes from the trainer's own options (`ContinualOptions`, every
    /// key of its encoding, the method's hyper-parameters as "method_options.<flag>"), so an option
    /// added there is part of the description without a line here. Then what the experiment adds:
    /// the tool, protocol and data, and what the run records. The results folder (`out`) and the
    /// lists that name other runs (methods, seeds, sweeps) are not part of one run's description.
    public func description(of method: Method) -> RunDescription {
        var fields = Self.flattened(continualOptions(for: method))
        func add(_ name: String, _ value: String) { fields.append(.init(name: name, value: value)) }
        add("tool", tool.rawValue)
        add("protocol", experimentProtocol.rawValue)
        add("data_dir", dataDir)
        add("device", device)
        add("tasks", String(tasks))
        add("train_limit", trainLimit.map(String.init) ?? "none")
        add("test_limit", testLimit.map(String.init) ?? "none")
        add("select_on", selectOn?.rawValue ?? "none")
        add("validation_fraction", format(validationFraction))
        add("recordings", recordings.sorted().joined(separator: ","))
        return RunDescription(fields: fields)
    }

    /// Every leaf of `options`' JSON encoding, "outer.inner" for nested objects, in key order;
    /// numbers as `format` writes them.
    static func flattened(_ options: ContinualOptions) -> [RunDescription.Field] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(options), let tree = try? JSONDecoder().decode(JSONLeaves.self, from: data) else {
            return [.init(name: "options", value: "(not encodable)")]
        }
        return tree.leaves.sorted { $0.name < $1.name }
    }
}

/// A decoded JSON value reduced to its leaves as (dotted name, text).
private struct JSONLeaves: Decodable {
    var leaves: [RunDescription.Field] = []

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
    }

    init(from decoder: Decoder) throws { leaves = try Self.leaves(decoder, prefix: "") }

    private static func leaves(_ decoder: Decoder, prefix: String) throws -> [RunDescription.Field] {
        if let object = try? decoder.container(keyedBy: Key.self) {
            return try object.allKeys.flatMap { key in
                try leaves(try object.superDecoder(forKey: key), prefix: prefix.isEmpty ? key.stringValue : prefix + "." + key.stringValue)
            }
        }
        let value = try decoder.singleValueContainer()
        let text: String
        if value.decodeNil() { text = "null" }
        else if let flag = try? value.decode(Bool.self) { text = flag ? "yes" : "no" }
        else if let whole = try? value.decode(UInt64.self) { text = String(whole) }   // exact (seeds)
        else if let whole = try? value.decode(Int64.self) { text = String(whole) }
        else if let number = try? value.decode(Double.self) { text = format(number) }
        else { text = try value.decode(String.self) }
        return [.init(name: prefix, value: text)]
    }
}
