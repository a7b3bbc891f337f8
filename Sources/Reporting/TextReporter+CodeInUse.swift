import Engine
import Probes

extension TextReporter {
    /// "What nothing uses", one summary per target (its label first when containers were scanned too), with the
    /// unused packages listed under --verbose. Package names and versions come from the scanned root: escaped.
    func codeInUseLines(_ report: ScanReport) -> [String] {
        var lines: [String] = []
        for summary in report.targets {
            guard let use = summary.codeInUse else { continue }
            let prefix = "  " + (report.targets.count > 1 ? Self.targetLine(summary.target) + ": " : "")
            let notes = use.notes.map { "      (" + TerminalText.escape($0) + ")" }
            guard use.basis != .unknown else {
                lines.append(prefix + "code nothing uses: unknown, no package is called unused here")
                lines += notes
                continue
            }
            let unused = use.unused.count, what = use.basis == .processesAndGraphs
                ? "nothing here runs their code (no process maps it, no walked program graph reaches it)"
                : "no walked program graph reaches their code (no process counted: see why below)"
            lines.append(prefix + "code nothing uses: \(unused) of \(use.shippingCode) packages that ship code: \(what)"
                + (use.notJudged > 0 ? "; \(use.notJudged) more not judged (no ELF file among their bin/ and *.so* paths)" : "")
                + (unused > 0 && !verbose ? "; --verbose lists them" : ""))
            lines += notes
            if verbose {
                lines += use.unused.map { "      " + TerminalText.escape($0.name) + " " + TerminalText.escape($0.version) }
            }
        }
        return lines
    }
}
