import Engine
import HostIO

/// The daemon's settings: defaults, then /etc/chainwatch/chainwatch.conf (or --config), then command-line options.
public struct DaemonConfiguration: Sendable, Equatable {
    public static let defaultPath = "/etc/chainwatch/chainwatch.conf"

    public var interval: Duration = .seconds(3600)
    /// How often a finding that persists is sent again as a reminder.
    public var reminder: Duration = .seconds(86_400)
    public var rules: [String] = []
    public var stateDirectory = "/var/lib/chainwatch"
    /// One worker by default: a daemon must not compete with the server's own work.
    public var jobs = 1
    /// Read files on FUSE and network filesystems, on guarded threads (`ScanOptions.readBlockingFilesystems`).
    public var readBlockingFilesystems = false
    /// node_exporter textfile to write after every scan (e.g. /var/lib/prometheus/node-exporter/chainwatch.prom).
    public var metricsFile: String?
    /// YARA rules' bounds and memory scope (`yara-timeout`, `yara-max-file-size`, `yara-memory`; docs/yara.md).
    public var yara = YARALimits()
    /// The approved baseline drift rules compare with (`baseline = FILE`); nil: none.
    public var baseline: String?
    /// Trusted public keys a baseline's signature must verify with.
    public var keysDirectory = RuleBundle.defaultKeysDirectory
    /// `baseline-signature = required`: an unsigned baseline is refused.
    public var requireSignedBaseline = false

    public init() {}

    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public var file: String
        public var line: Int
        public var message: String
        public var description: String { "\(file):\(line): \(message)" }
    }

    static let keys = ["interval", "reminder", "rules", "state-dir", "jobs", "metrics-file", "yara-timeout", "yara-max-file-size", "yara-memory",
                       "baseline", "keys", "baseline-signature"]

    /// Reads `key = value` lines; `#` starts a comment; `rules` may repeat.
    public mutating func apply(fileText text: String, file: String) throws(ParseError) {
        var rules: [String] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            let number = index + 1
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw ParseError(file: file, line: number, message: "expected 'key = value', got '\(trimmed)'")
            }
            let key = String(trimmed[..<equals]).trimmingWhitespace()
            let value = String(trimmed[trimmed.index(after: equals)...]).trimmingWhitespace()
            switch key {
            case "interval", "reminder":
                guard let duration = Self.parseDuration(value) else {
                    throw ParseError(file: file, line: number, message: "\(key): '\(value)' is not a duration (e.g. 30s, 15m, 1h, 1d)")
                }
                if key == "interval" { interval = duration } else { reminder = duration }
            case "rules": rules.append(value)
            case "state-dir": stateDirectory = value
            case "metrics-file":
                guard value.hasPrefix("/"), !value.hasSuffix("/") else {
                    throw ParseError(file: file, line: number, message: "metrics-file: '\(value)' must be an absolute file path (e.g. /var/lib/prometheus/node-exporter/chainwatch.prom)")
                }
                metricsFile = value
            case "jobs":
                guard let count = Int(value), (1...64).contains(count) else {
                    throw ParseError(file: file, line: number, message: "jobs: '\(value)' must be a number from 1 to 64")
                }
                jobs = count
            case "yara-timeout":
                guard let seconds = Int(value), (1...3600).contains(seconds) else {
                    throw ParseError(file: file, line: number, message: "yara-timeout: '\(value)' must be seconds from 1 to 3600")
                }
                yara.timeoutSeconds = seconds
            case "yara-max-file-size":
                guard let mebibytes = Int64(value), (1...4096).contains(mebibytes) else {
                    throw ParseError(file: file, line: number, message: "yara-max-file-size: '\(value)' must be MiB from 1 to 4096")
                }
                yara.maximumFileSize = mebibytes << 20
            case "yara-memory":
                guard ["runtime", "all"].contains(value) else {
                    throw ParseError(file: file, line: number, message: "yara-memory: '\(value)' must be runtime (the processes runtime rules name) or all")
                }
                yara.memoryOfEveryProcess = value == "all"
            case "baseline", "keys":
                guard value.hasPrefix("/"), !value.hasSuffix("/") || key == "keys" else {
                    throw ParseError(file: file, line: number, message: "\(key): '\(value)' must be an absolute path")
                }
                if key == "baseline" { baseline = value } else { keysDirectory = value }
            case "baseline-signature":
                guard ["optional", "required"].contains(value) else {
                    throw ParseError(file: file, line: number, message: "baseline-signature: '\(value)' must be optional (a signature, when present, must verify) or required")
                }
                requireSignedBaseline = value == "required"
            default:
                throw ParseError(file: file, line: number, message: "unknown key '\(key)'; expected one of \(Self.keys.joined(separator: ", "))")
            }
        }
        if !rules.isEmpty { self.rules = rules }
    }

    /// "30s", "15m", "1h", "1d", or plain seconds. At least one second.
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 0), ("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)]
        for (suffix, seconds) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count)), value > 0 else { return nil }
            if suffix == "ms" { return value >= 100 ? .milliseconds(value) : nil }
            return .seconds(value * seconds)
        }
        guard let value = Int64(text), value > 0 else { return nil }
        return .seconds(value)
    }
}
