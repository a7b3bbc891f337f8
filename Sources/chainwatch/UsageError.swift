import HostIO
import Reporting

/// A mistake on the command line: one line saying what was wrong, one hint saying what to do, exit 2.
struct UsageError: Error {
    /// The command it was said to, e.g. "chainwatch scan".
    var command: String
    var message: String
    var hint: String

    func print() {
        // Values the user typed can hold anything; the terminal gets them escaped.
        let line = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
        StandardError.writeLine("\(command): \(TerminalText.escape(line))")
        StandardError.writeLine("Hint: \(TerminalText.escape(hint))")
    }
}
