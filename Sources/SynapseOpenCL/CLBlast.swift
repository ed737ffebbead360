// CLBlast's SGEMM, loaded at run time (dlopen) when libclblast.so.1 is present, so the benchmark
// can time a tuned OpenCL BLAS beside our GEMM on the same device, queue and buffers. Nothing in
// training uses it; nothing links against it (the kit carries Debian's libclblast1 as a .deb).
import COpenCL
import Foundation
import SynapseEngine

/// CLBlast's `CLBlastSgemm` on an `OpenCLBackend`'s queue.
public final class CLBlastSgemm {
    // CLBlastStatusCode CLBlastSgemm(CLBlastLayout, CLBlastTranspose a, CLBlastTranspose b,
    //     size_t m, n, k, float alpha, cl_mem a, size_t aOffset, size_t lda, cl_mem b, size_t
    //     bOffset, size_t ldb, float beta, cl_mem c, size_t cOffset, size_t ldc,
    //     cl_command_queue* queue, cl_event* event) — enums are C ints.
    private typealias Function = @convention(c) (
        Int32, Int32, Int32, Int, Int, Int, Float, cl_mem?, Int, Int, cl_mem?, Int, Int, Float, cl_mem?, Int, Int,
        UnsafeMutablePointer<cl_command_queue?>?, UnsafeMutablePointer<cl_event?>?) -> Int32
    private static let rowMajor: Int32 = 101
    private static let noTranspose: Int32 = 111, transpose: Int32 = 112

    private let handle: UnsafeMutableRawPointer
    private let function: Function
    /// The library that was loaded (the dlopen name or path).
    public let library: String

    /// Loads `library` (default: `SYNAPSE_CLBLAST` or libclblast.so.1 from the loader's path).
    /// Throws a one-line error naming the library when it cannot be loaded or lacks CLBlastSgemm.
    public init(library: String? = nil) throws {
        let name = library ?? ProcessInfo.processInfo.environment["SYNAPSE_CLBLAST"] ?? "libclblast.so.1"
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw BackendError("cannot load CLBlast from '\(name)': \(reason)")
        }
        guard let symbol = dlsym(handle, "CLBlastSgemm") else {
            dlclose(handle)
            throw BackendError("'\(name)' has no CLBlastSgemm symbol: not a CLBlast library")
        }
        self.handle = handle
        self.function = unsafeBitCast(symbol, to: Function.self)
        self.library = name
    }

    deinit { dlclose(handle) }

    /// C = alpha · op(A) · op(B) + beta · C, row-major, as `Backend.gemm`, enqueued on
    /// `backend`'s queue (never waits). CLBlast compiles its kernels at the first call per shape
    /// class and caches them in memory.
    public func gemm(on backend: OpenCLBackend, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: Tensor, b: Tensor, beta: Float, c: Tensor) throws {
        try OpContract.gemm(m: m, n: n, k: k, a: a, b: b, c: c)
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        var queue: cl_command_queue? = backend.queue
        let status = function(Self.rowMajor, transposeA ? Self.transpose : Self.noTranspose,
                              transposeB ? Self.transpose : Self.noTranspose, m, n, k, alpha,
                              try backend.mem(a), a.offset, max(1, lda), try backend.mem(b), b.offset, max(1, ldb),
                              beta, try backend.mem(c), c.offset, max(1, n), &queue, nil)
        guard status == 0 else {
            // CLBlast returns OpenCL codes (negative, named) or its own (-1024 and below).
            throw BackendError("CLBlastSgemm M\(m) N\(n) K\(k) failed with status \(status) (\(openCLStatusName(status)))")
        }
    }
}
