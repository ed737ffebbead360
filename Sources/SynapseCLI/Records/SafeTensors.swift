// A minimal reader and writer of the safetensors format (huggingface/safetensors), float32 only,
// so a checkpoint opens in numpy (`safetensors.numpy.load_file`) and PyTorch as it is.
//
// Layout of a file:
//   bytes 0..<8        N, the header length, unsigned 64-bit little-endian
//   bytes 8..<8+N      the header: UTF-8 JSON object
//                        { "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//                          "__metadata__": {"<key>": "<string value>", ...} }
//                      padded with spaces so the data starts on an 8-byte boundary
//   bytes 8+N..<end    the data: every tensor's elements, row-major, little-endian, back to back;
//                      `data_offsets` are byte offsets into this region, and the tensors cover it
//                      exactly (no gaps, no overlap), as the reference implementation requires.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why a safetensors file could not be read or written.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    /// The file at fault.
    public let path: String
    /// What was wrong, saying what was expected and what was found.
    public let reason: String

    public init(path: String, _ reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
}

/// The contents of one safetensors file: named float32 tensors (in file order) and string metadata.
public struct SafeTensors: Equatable {
    /// One named tensor: its shape and its elements in row-major order.
    public struct Entry: Equatable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name; self.shape = shape; self.values = values
        }
    }

    /// Tensors in the order they are stored.
    public private(set) var entries: [Entry] = []
    /// The `__metadata__` map: scalars and JSON text, all as strings (the format allows only strings).
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds a tensor. `shape` must describe exactly `values.count` elements, and the name must be new
    /// and not the reserved `__metadata__`.
    public mutating func add(_ name: String, shape: [Int], values: [Float]) throws {
        guard name != "__metadata__", !name.isEmpty else {
            throw SafeTensorsError(path: name, "a tensor name must be non-empty and not \"__metadata__\"")
        }
        guard !entries.contains(where: { $0.name == name }) else {
            throw SafeTensorsError(path: name, "a tensor of this name is already stored")
        }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == values.count else {
            throw SafeTensorsError(path: name, "shape \(shape) does not hold \(values.count) elements")
        }
        entries.append(Entry(name: name, shape: shape, values: values))
    }

    /// Adds a rank-1 tensor.
    public mutating func add(_ name: String, values: [Float]) throws {
        try add(name, shape: [values.count], values: values)
    }

    /// The tensor named `name`, or nil.
    public subscript(name: String) -> Entry? { entries.first { $0.name == name } }

    // MARK: Writing

    /// The file's bytes.
    public func serialized() -> [UInt8] {
        var header = "{"
        var offset = 0
        for (index, entry) in entries.enumerated() {
            let end = offset + entry.values.count * 4
            if index > 0 { header += "," }
            header += jsonString(entry.name) + ":{\"dtype\":\"F32\",\"shape\":["
                + entry.shape.map(String.init).joined(separator: ",")
                + "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        if !metadata.isEmpty {
            if !entries.isEmpty { header += "," }
            header += "\"__metadata__\":{"
            header += metadata.keys.sorted().map { jsonString($0) + ":" + jsonString(metadata[$0]!) }
                .joined(separator: ",")
            header += "}"
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        // Pad with spaces (valid JSON white space) so the data is 8-byte aligned for mmap readers.
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(0x20) }

        var bytes = [UInt8]()
        bytes.reserveCapacity(8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: headerBytes)
        for entry in entries {
            #if _endian(little)
            entry.values.withUnsafeBytes { bytes.append(contentsOf: $0) }   // already the file's byte order
            #else
            for value in entry.values {
                var bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { bytes.append(contentsOf: $0) }
            }
            #endif
        }
        return bytes
    }

    /// Writes the file atomically: to a temporary file in the same folder, flushed to disk, then
    /// renamed over `path`, so a reader (or a resumed run) sees the old file or the new one, never
    /// half of one.
    public func write(to path: String) throws {
        try AtomicFile.write(serialized(), to: path)
    }

    // MARK: Reading

    /// Reads and checks a file written by any safetensors writer that uses only F32 tensors.
    /// Refuses anything but a regular file (a FIFO would block the reader) with a message saying what it is.
    public static func read(from path: String) throws -> SafeTensors {
        try SafeTensors(bytes: try readRegularFile(path), path: path)
    }

    /// The bytes of the regular file at `path`.
    static func readRegularFile(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SafeTensorsError(path: path, "cannot read the file (\(String(cString: strerror(errno))))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SafeTensorsError(path: path, "expected a regular file; found \(fileKind(info.st_mode))")
        }
        // O_NONBLOCK: should the path be swapped for a FIFO after the check, open must not block.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            throw SafeTensorsError(path: path, "cannot open the file (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw SafeTensorsError(path: path, "expected a regular file; found \(fileKind(info.st_mode))")
        }
        let size = Int(info.st_size)
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, size - filled) }
            if got < 0 {
                if errno == EINTR { continue }
                throw SafeTensorsError(path: path, "cannot read the file (\(String(cString: strerror(errno))))")
            }
            if got == 0 {
                throw SafeTensorsError(path: path, "the file shrank while it was read (\(filled) of \(size) bytes)")
            }
            filled += got
        }
        return bytes
    }

    private static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "a special file"
        }
    }

    /// SHA-256 of the data region (every tensor's bytes, in file order), as hex.
    public func dataDigest() -> String {
        var hasher = SHA256()
        for entry in entries {
            #if _endian(little)
            entry.values.withUnsafeBytes { hasher.update($0) }
            #else
            hasher.update(entry.values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } })
            #endif
        }
        return SHA256.hexString(hasher.finalize())
    }

    /// Parses and checks `bytes`; `path` only names the source in errors.
    public init(bytes: [UInt8], path: String) throws {
        guard bytes.count >= 8 else {
            throw SafeTensorsError(path: path, "expected at least 8 bytes (the header length); found \(bytes.count)")
        }
        var length: UInt64 = 0
        for i in (0..<8).reversed() { length = length << 8 | UInt64(bytes[i]) }
        guard length >= 2, length <= UInt64(bytes.count - 8) else {  // bytes.count ≥ 8 here
            throw SafeTensorsError(path: path,
                "header length \(length) does not fit a file of \(bytes.count) bytes (expected 2...\(bytes.count - 8))")
        }
        let headerEnd = 8 + Int(length)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd]))
        } catch {
            throw SafeTensorsError(path: path, "the header is not valid JSON")
        }
        // JSON parsers keep one of two equal keys and drop the other without a word: refuse them.
        if let duplicate = Self.duplicateKey(in: bytes[8..<headerEnd]) {
            throw SafeTensorsError(path: path, "the header names \"\(duplicate)\" twice; expected each tensor and metadata key once")
        }
        guard let header = object as? [String: Any] else {
            throw SafeTensorsError(path: path, "expected the header to be a JSON object")
        }
        let dataLength = bytes.count - headerEnd

        var parsed: [(begin: Int, end: Int, entry: Entry)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw SafeTensorsError(path: path, "expected __metadata__ to be an object of strings")
                }
                for (key, item) in map {
                    guard let text = item as? String else {
                        throw SafeTensorsError(path: path, "metadata \"\(key)\": expected a string value")
                    }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any] else {
                throw SafeTensorsError(path: path, "tensor \"\(name)\": expected an object")
            }
            guard let dtype = info["dtype"] as? String, dtype == "F32" else {
                throw SafeTensorsError(path: path,
                    "tensor \"\(name)\": expected dtype \"F32\"; found \(String(describing: info["dtype"] ?? "none"))")
            }
            guard let shape = Self.integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw SafeTensorsError(path: path, "tensor \"\(name)\": expected a shape of non-negative integers")
            }
            guard let offsets = Self.integers(info["data_offsets"]), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataLength else {
                throw SafeTensorsError(path: path,
                    "tensor \"\(name)\": expected data_offsets [begin, end] within the \(dataLength) data bytes")
            }
            // Every product checked for overflow: a shape is untrusted ([2^40, 2^40] must be an error).
            var count = 1
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= dataLength else {
                    throw SafeTensorsError(path: path,
                        "tensor \"\(name)\": shape \(shape) holds more elements than the \(dataLength) data bytes")
                }
                count = product
            }
            guard offsets[1] - offsets[0] == count * 4 else {   // count ≤ dataLength, so count·4 cannot overflow
                throw SafeTensorsError(path: path,
                    "tensor \"\(name)\": shape \(shape) needs \(count * 4) bytes; data_offsets span \(offsets[1] - offsets[0])")
            }
            var values = [Float](repeating: 0, count: count)
            let base = headerEnd + offsets[0]
            #if _endian(little)
            // The little-endian F32 bytes are the values' own: one copy, as the writer does.
            values.withUnsafeMutableBytes { destination in
                bytes.withUnsafeBytes { source in
                    destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[base..<(base + 4 * count)]))
                }
            }
            #else
            for i in 0..<count {
                let p = base + 4 * i
                let bits = UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16
                    | UInt32(bytes[p + 3]) << 24
                values[i] = Float(bitPattern: bits)
            }
            #endif
            parsed.append((offsets[0], offsets[1], Entry(name: name, shape: shape, values: values)))
        }
        // The tensors must tile the data region: sorted by offset, each starts where the last ended.
        parsed.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expectedBegin = 0
        for item in parsed {
            guard item.begin == expectedBegin else {
                throw SafeTensorsError(path: path,
                    "tensor \"\(item.entry.name)\" starts at data byte \(item.begin); expected \(expectedBegin) (gap or overlap)")
            }
            expectedBegin = item.end
        }
        guard expectedBegin == dataLength else {
            throw SafeTensorsError(path: path,
                "the tensors cover \(expectedBegin) data bytes; the file holds \(dataLength)")
        }
        entries = parsed.map(\.entry)
    }

    /// The first key that occurs twice in one object of `json` (valid JSON text), at any depth, or nil.
    static func duplicateKey(in json: ArraySlice<UInt8>) -> String? {
        // One frame per open object or array: its keys so far and whether a key comes next.
        var frames: [(isObject: Bool, keys: Set<String>, expectKey: Bool)] = []
        var i = json.startIndex
        while i < json.endIndex {
            switch json[i] {
            case UInt8(ascii: "{"): frames.append((true, [], true))
            case UInt8(ascii: "["): frames.append((false, [], false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = frames.popLast()
            case UInt8(ascii: ","):
                if frames.last?.isObject == true { frames[frames.count - 1].expectKey = true }
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < json.endIndex, json[i] != UInt8(ascii: "\"") {
                    i += json[i] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard i < json.endIndex else { return nil }
                if let top = frames.last, top.isObject, top.expectKey {
                    // Decode the literal, so "a" and "\u0061" count as the same key.
                    let literal = Data(json[start...i])
                    let key = (try? JSONSerialization.jsonObject(with: literal, options: .fragmentsAllowed)) as? String
                        ?? String(decoding: json[start...i], as: UTF8.self)
                    if top.keys.contains(key) { return key }
                    frames[frames.count - 1].keys.insert(key)
                    frames[frames.count - 1].expectKey = false
                }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// A JSON array of integers as [Int] (JSONSerialization yields NSNumber).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result = [Int]()
        for item in array {
            // Int(exactly:) refuses fractions and values outside Int's range (no trap on 1e300).
            guard let number = item as? NSNumber, let exact = Int(exactly: number.doubleValue) else { return nil }
            result.append(exact)
        }
        return result
    }
}

/// A JSON string literal for `text` (quotes, backslashes and control characters escaped).
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
