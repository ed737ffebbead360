// Method hyper-parameters, declared once. Each method's options type lists its hyper-parameters as
// `HyperParameter` values; from that one list come the command-line flags (`--<flag> value`), the
// `--help` text, the validation messages, the recorded config and the resume check. Adding a
// hyper-parameter is one new entry in the method's file (and a stored property to hold it).

import Foundation

/// The kind of value a hyper-parameter takes. Each kind has exactly one parser
/// (`HyperParameter.parseValues`), so a later sweep (`--c 0.01,0.1,1`) needs no second one.
public enum HyperValueKind: String, Sendable {
    /// A finite real number, stored as float32.
    case real
    /// A whole number.
    case count
}

/// One declared hyper-parameter: its flag, meaning, accepted range and how it is stored.
public struct HyperParameter<Options>: Sendable {
    /// The command-line name without dashes (`c` for `--c`); also the JSON key.
    public let flag: String
    /// How it is written in text (`ξ`, `λ`).
    public let symbol: String
    /// One line: what it is.
    public let help: String
    /// Real or count: which parser reads the value.
    public let kind: HyperValueKind
    /// What is accepted, in words ("a number ≥ 0"), for help and error messages.
    public let accepted: String
    /// True when changing it leaves the paper's protocol (the published numbers no longer apply).
    public let partOfProtocol: Bool
    let isValid: @Sendable (Double) -> Bool
    /// For float32 values: whether `value` survives the conversion (finite, and not flushed to 0 or
    /// to a subnormal, whose reciprocal overflows); always true for counts.
    let isRepresentable: @Sendable (Double) -> Bool
    let get: @Sendable (Options) -> Double
    let set: @Sendable (inout Options, Double) -> Void

    /// A float32 hyper-parameter.
    public static func real(_ flag: String, _ path: WritableKeyPath<Options, Float> & Sendable, symbol: String, help: String,
                            accepted: String, partOfProtocol: Bool = false,
                            valid: @escaping @Sendable (Double) -> Bool) -> HyperParameter {
        HyperParameter(flag: flag, symbol: symbol, help: help, kind: .real, accepted: accepted,
                       partOfProtocol: partOfProtocol, isValid: { $0.isFinite && valid($0) },
                       isRepresentable: Float32Range.holds,
                       get: { Double("\($0[keyPath: path])") ?? Double($0[keyPath: path]) },
                       set: { $0[keyPath: path] = Float($1) })
    }

    /// An integer hyper-parameter in `range`.
    public static func count(_ flag: String, _ path: WritableKeyPath<Options, Int> & Sendable, symbol: String, help: String,
                             range: ClosedRange<Int>) -> HyperParameter {
        HyperParameter(flag: flag, symbol: symbol, help: help, kind: .count,
                       accepted: "an integer in \(range.lowerBound)...\(range.upperBound)", partOfProtocol: false,
                       isValid: { $0 == $0.rounded() && $0 >= Double(range.lowerBound) && $0 <= Double(range.upperBound) },
                       isRepresentable: { _ in true }, get: { Double($0[keyPath: path]) }, set: { $0[keyPath: path] = Int($1) })
    }

    /// The value in `options` (a float32 as the decimal a user would type: 0.001, not 0.0010000000474974513).
    public func value(in options: Options) -> Double { get(options) }

    /// Checks `value`; the error names the flag, the value and what is accepted.
    public func check(_ value: Double) throws {
        guard isValid(value) else {
            throw ContinualError.invalidOption("--\(flag) \(HyperValues.format(value)): expected \(accepted)")
        }
        guard isRepresentable(value) else {
            throw ContinualError.invalidOption("--\(flag) \(HyperValues.format(value)): expected \(accepted) that float32 holds "
                                               + "(\(Float32Range.text))")
        }
    }

    /// Checks and stores `value`.
    public func assign(_ value: Double, in options: inout Options) throws {
        try check(value)
        set(&options, value)
    }
}

/// The float32 values a real option may take: 0, or a normal number (magnitude about 1.2e-38 to
/// 3.4e38). Beyond it a value becomes infinite, 0 or a subnormal whose reciprocal overflows (ξ), so
/// the run would fail, or silently use another value, long after it started.
public enum Float32Range {
    /// Whether `value` converts to float32 as 0 or a normal number.
    public static func holds(_ value: Double) -> Bool {
        let single = Float(value)
        return value == 0 ? true : value.isFinite && single.isNormal
    }

    /// The range in words, for error messages.
    public static let text = "0, or a magnitude from 1.2e-38 to 3.4e38"
}

/// The parsing and printing of hyper-parameter values: one function per value kind, here only.
public enum HyperValues {
    /// The values of `text` for a hyper-parameter of `kind`: a comma list ("0.01,0.1,1"), each
    /// parsed as its kind. The caller decides how many values it accepts (the tools: one, or a
    /// list to sweep).
    /// - Throws: `ContinualError.invalidOption` naming `--flag` and the text that is not a value.
    public static func parseValues(_ text: String, kind: HyperValueKind, flag: String) throws -> [Double] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try items.map { item in
            let value: Double?
            switch kind {
            case .real: value = parseReal(item)
            case .count: value = parseCount(item).map(Double.init)
            }
            guard let value else {
                throw ContinualError.invalidOption("--\(flag) '\(text)': '\(item)' is not \(kind == .real ? "a number" : "an integer")")
            }
            return value
        }
    }

    /// A real number as typed ("0.1", "1e-3", "-2", "nan" — range checks come later).
    static func parseReal(_ text: String) -> Double? { text.isEmpty ? nil : Double(text) }

    /// A whole number as typed ("200", "-1").
    static func parseCount(_ text: String) -> Int? { Int(text) }

    /// Shortest decimal text of a value (0.001, not 0.0010000000000000000208; 1e-8, not 1e-08).
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)".replacingOccurrences(of: "e-0", with: "e-")
    }
}

/// A method's options: one Codable type per method, with its defaults per protocol and the list
/// of its hyper-parameters.
public protocol MethodOptions: Codable, Sendable, Equatable {
    /// Every hyper-parameter, in the order help lists them.
    static var parameters: [HyperParameter<Self>] { get }
    /// The values the protocol prescribes (SI's c and ξ differ per protocol; the others do not).
    static func defaults(for protocol: ContinualProtocol) -> Self
}

extension MethodOptions {
    /// Checks every hyper-parameter.
    public func validate() throws {
        for parameter in Self.parameters { try parameter.check(parameter.value(in: self)) }
    }

    /// The value of hyper-parameter `flag`, nil when this method has no such hyper-parameter.
    public func value(_ flag: String) -> Double? {
        Self.parameters.first { $0.flag == flag }.map { $0.value(in: self) }
    }

    /// Sets hyper-parameter `flag` when this method has it (checked); returns whether it has it.
    @discardableResult
    public mutating func set(_ flag: String, _ value: Double) throws -> Bool {
        guard let parameter = Self.parameters.first(where: { $0.flag == flag }) else { return false }
        try parameter.assign(value, in: &self)
        return true
    }

    /// (flag, value) of every hyper-parameter, in declaration order.
    public var values: [(flag: String, value: Double)] {
        Self.parameters.map { ($0.flag, $0.value(in: self)) }
    }

    func isEqual(_ other: any MethodOptions) -> Bool {
        guard let other = other as? Self else { return false }
        return self == other
    }

    static func decode(from decoder: Decoder) throws -> any MethodOptions { try Self(from: decoder) }
}

/// What every declared hyper-parameter looks like without its options type: for help and for the
/// command line, which handle all methods' hyper-parameters together.
public struct HyperParameterInfo: Sendable, Equatable {
    /// The command-line name without dashes; also the JSON key.
    public let flag: String
    /// How it is written in text (ξ, λ).
    public let symbol: String
    /// One line: what it is.
    public let help: String
    /// Real or count: which parser reads the value.
    public let kind: HyperValueKind
    /// What is accepted, in words.
    public let accepted: String
    /// True when a value other than the protocol's leaves the paper's protocol.
    public let partOfProtocol: Bool
}

extension MethodOptions {
    static var parameterInfo: [HyperParameterInfo] {
        parameters.map { HyperParameterInfo(flag: $0.flag, symbol: $0.symbol, help: $0.help, kind: $0.kind,
                                            accepted: $0.accepted, partOfProtocol: $0.partOfProtocol) }
    }
}

/// The options of a method without hyper-parameters (fine-tune, scratch, joint).
public struct NoOptions: MethodOptions {
    /// No options.
    public init() {}
    /// No hyper-parameters.
    public static var parameters: [HyperParameter<NoOptions>] { [] }
    /// The same for every protocol.
    public static func defaults(for protocol: ContinualProtocol) -> NoOptions { NoOptions() }
}
