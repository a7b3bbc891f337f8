/// Messages for the person running chainwatch, written straight to file descriptor 2 (no Foundation needed).
public enum StandardError {
    /// Writes `text` whole, retrying short writes; a closed or broken stderr loses the message, nothing else.
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            guard let n = try? Syscall.write(2, path: "stderr", from: bytes, written..<bytes.count), n > 0 else { return }
            written += n
        }
    }

    /// `line` and a newline.
    public static func writeLine(_ line: String) {
        write(line + "\n")
    }
}
