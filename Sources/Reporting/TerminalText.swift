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

    /// JSONEncoder escapes only what JSON requires (quotes, backslashes, C0 controls). A container, file or package
    /// name may also hold characters that reorder or hide what a person reading the SBOM sees: DEL, C1 controls,
    /// U+2028/U+2029, bidi overrides and isolates, directional marks and U+FEFF (the set `escape` escapes in
    /// the text report). They are written as JSON's \uXXXX, which decodes to the same value; the document's
    /// structure is ASCII, so they can only be inside strings.
    static func escapingInvisibleInJSON(_ json: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            switch scalar.value {
            case 0x7f, 0x80..<0xa0, 0x2028, 0x2029, 0x202a...0x202e, 0x2066...0x2069, 0x200e, 0x200f, 0x061c, 0xfeff:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }
}
