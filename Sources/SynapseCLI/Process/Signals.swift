// SIGINT (Ctrl-C) and SIGTERM: one line on stderr naming the last checkpoint and the exact command
// that continues the run, then exit 130 or 143 (128 + the signal, as shells report it). The line is
// prepared in advance (after every checkpoint), because a signal handler may only call
// async-signal-safe functions: it writes the prepared bytes and calls _exit. Files being written
// at that moment stay as they were (AtomicFile renames complete files only); the temporary the
// writer leaves is removed by the next run that locks the folder.

import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

public enum Interrupts {
    /// The address of the prepared line (a NUL-terminated strdup copy; 0: none), replaced whole
    /// after each checkpoint. An atomic integer: the handler reads it with one lock-free load
    /// (async-signal-safe), and runs in tests prepare lines from several threads at once.
    private static let line = Atomic<Int>(0)
    /// Old lines, kept alive (a few per run) so a handler never reads a freed buffer.
    private static let retired = Mutex<[Int]>([])

    /// Installs the handlers (the executables call this once, before the run).
    public static func install() {
        // A parent may have started us with these signals blocked (a mask is inherited): unblock
        // them, or a Ctrl-C would wait unseen until the run ends.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for sig in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                if let text = UnsafePointer<CChar>(bitPattern: Interrupts.line.load(ordering: .sequentiallyConsistent)) {
                    _ = write(2, text, strlen(text))
                }
                _exit(128 + signal)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, nil)
        }
    }

    /// What the line says now: the run's folder and, once one exists, its last checkpoint.
    static func prepare(tool: Tool, out: String, checkpoint: String?, detail: String = "") {
        let resume = "\(tool.rawValue) --resume \(shellQuoted(out))"
        let text: String
        if let checkpoint {
            text = "\(tool.rawValue): interrupted; last checkpoint: \(checkpoint)\(detail); continue with: \(resume)\n"
        } else {
            text = "\(tool.rawValue): interrupted before the first checkpoint; nothing to resume yet "
                + "(start again, or later: \(resume))\n"
        }
        let copy = strdup(text)!
        let old = line.exchange(Int(bitPattern: copy), ordering: .sequentiallyConsistent)
        if old != 0 { retired.withLock { $0.append(old) } }
    }

    /// `text` as one shell word (single-quoted unless it is plainly safe).
    static func shellQuoted(_ text: String) -> String {
        let safe = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:=,@".contains($0) }
        return safe && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
