/// Makes attacker-controlled text (file names, process names) safe to print: control characters, including
/// newlines and escape sequences (C0, DEL, C1 such as U+009B CSI), are shown as \xNN, and the characters that
/// break or reorder a line without being controls (U+2028/U+2029 separators, bidi overrides and isolates, the
/// directional marks) as \u{NNNN}, so a file name cannot forge report lines, reorder them or drive the terminal.
public enum TerminalText {
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0..<0x20, 0x7f, 0x80..<0xa0:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            case 0x2028, 0x2029, 0x202a...0x202e, 0x2066...0x2069, 0x200e, 0x200f, 0x061c, 0xfeff:
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
