/// Makes attacker-controlled text (file names, process names) safe to print: control characters, including
/// newlines and escape sequences, are shown as \xNN so a file name cannot forge report lines or drive the terminal.
public enum TerminalText {
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5c: out += "\\\\"
            case 0..<0x20, 0x7f, 0x80..<0xa0:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
