/// Element types a backend stores. Images live on the device as `uint8` and are converted there;
/// labels and batch indices are `int32`; everything else is `float32`.
public enum ElementType: Sendable, Equatable, CustomStringConvertible {
    /// IEEE 754 single precision: parameters, activations, gradients, optimizer state.
    case float32
    /// 32-bit signed integers: labels and minibatch indices.
    case int32
    /// Bytes: images exactly as the data files store them (converted to float32 on the device).
    case uint8

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: return 4
        case .uint8: return 1
        }
    }

    /// The name used in messages: "float32", "int32" or "uint8".
    public var description: String {
        switch self {
        case .float32: return "float32"
        case .int32: return "int32"
        case .uint8: return "uint8"
        }
    }
}

/// Memory owned by a backend (a host array for the reference backend, a `cl_mem` for OpenCL).
/// Each backend knows its own concrete type and downcasts; nothing above the backend looks inside.
public protocol DeviceStorage: AnyObject {
    /// Element type the storage was allocated with.
    var elementType: ElementType { get }
    /// Number of elements allocated.
    var capacity: Int { get }
}

/// A dense, row-major view into backend storage: storage + element offset + shape.
///
/// Views are how every parameter of a model lives in one contiguous buffer: each layer's weight
/// is a `Tensor` at its own offset, while the optimizer and SI see the whole buffer as one view.
/// Kernels receive the offset as an argument, so no sub-buffers are needed.
public struct Tensor {
    /// The backend memory the view looks into; shared by every view of the same allocation.
    public let storage: any DeviceStorage
    /// Offset of the first element, in elements (not bytes).
    public let offset: Int
    /// Dimensions, outermost first (row-major); `count` is their product.
    public let shape: [Int]

    /// A view of `shape` starting `offset` elements into `storage`. A view outside the storage
    /// or with a negative dimension is a programming error and stops the program: views are built
    /// by code from sizes it has already checked, never from file contents.
    public init(storage: any DeviceStorage, offset: Int = 0, shape: [Int]) {
        let count = shape.reduce(1, *)
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(offset >= 0 && offset + count <= storage.capacity,
                     "view [\(offset), \(offset + count)) outside storage of \(storage.capacity) elements")
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    /// The element type of the storage (a view cannot reinterpret it).
    public var elementType: ElementType { storage.elementType }
    /// Number of elements in the view.
    public var count: Int { shape.reduce(1, *) }

    /// A view of `shape` starting `elementOffset` elements into this view.
    public func view(at elementOffset: Int, shape: [Int]) -> Tensor {
        precondition(elementOffset >= 0 && elementOffset + shape.reduce(1, *) <= count,
                     "sub-view [\(elementOffset), +\(shape.reduce(1, *))) outside a view of \(count) elements")
        return Tensor(storage: storage, offset: offset + elementOffset, shape: shape)
    }

    /// The same elements seen with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(storage: storage, offset: offset, shape: newShape)
    }

    /// The first `rows` rows (first dimension) of this view, e.g. a smaller last minibatch.
    public func leadingRows(_ rows: Int) -> Tensor {
        precondition(!shape.isEmpty && rows <= shape[0], "cannot take \(rows) rows of \(shape)")
        var newShape = shape
        newShape[0] = rows
        return Tensor(storage: storage, offset: offset, shape: newShape)
    }
}
