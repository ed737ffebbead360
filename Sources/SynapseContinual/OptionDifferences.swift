// Names each option that differs between a saved run and this one, with both values, so a refused
// resume says what to change ("method_options.c: saved 0.1, this run 1") instead of "other options".
// The options are compared as the leaves of their own JSON encoding, so an option added to
// `ContinualOptions` (or to a method's options) is covered without a list to keep in step; the
// experiment tools' run description (SynapseCLI, Description/RunDescription.swift) is built on the
// same leaves.

import Foundation

public enum OptionDifferences {
    /// A named value: a leaf of an options encoding ("outer.inner" for nested objects).
    public struct Field: Equatable, Sendable {
        public let name: String
        public let value: String
        public init(name: String, value: String) { self.name = name; self.value = value }
    }

    /// Every leaf of `options`' JSON encoding, sorted by name: integers exact, other numbers as
    /// `HyperValues.format` writes them, booleans as yes/no.
    public static func fields(of options: ContinualOptions) -> [Field] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(options), let tree = try? JSONDecoder().decode(Leaves.self, from: data) else {
            return [Field(name: "options", value: "(not encodable)")]
        }
        return tree.fields.sorted { $0.name < $1.name }
    }

    /// "name: saved X, this run Y" for every field whose value differs (in `saved`'s order, then
    /// the fields only `current` has); a field one side lacks shows "(absent)".
    public static func differences(saved: [Field], current: [Field]) -> [String] {
        var found: [String] = []
        let theirs = Dictionary(current.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        for field in saved where theirs[field.name] != field.value {
            found.append("\(field.name): saved \(field.value), this run \(theirs[field.name] ?? "(absent)")")
        }
        let mine = Set(saved.map(\.name))
        for field in current where !mine.contains(field.name) {
            found.append("\(field.name): saved (absent), this run \(field.value)")
        }
        return found
    }

    /// Every differing option, joined by "; ", or nil when the options are equal.
    public static func between(saved: ContinualOptions, current: ContinualOptions) -> String? {
        guard saved != current else { return nil }
        let found = differences(saved: fields(of: saved), current: fields(of: current))
        // Equal texts but unequal values (e.g. -0.0 against 0.0): still say so.
        return found.isEmpty ? "the options differ in a value that prints the same" : found.joined(separator: "; ")
    }

    /// A decoded JSON value reduced to its leaves.
    private struct Leaves: Decodable {
        var fields: [Field] = []

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int?
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { stringValue = String(intValue); self.intValue = intValue }
        }

        init(from decoder: Decoder) throws { fields = try Self.leaves(decoder, prefix: "") }

        private static func leaves(_ decoder: Decoder, prefix: String) throws -> [Field] {
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
            else if let number = try? value.decode(Double.self) { text = HyperValues.format(number) }
            else { text = try value.decode(String.self) }
            return [Field(name: prefix, value: text)]
        }
    }
}
