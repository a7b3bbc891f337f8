import Engine
import Rules

/// The report an admin reads: findings grouped by severity, each with its evidence, then what was skipped.
public struct TextReporter {
    public var verbose = false

    public init(verbose: Bool = false) { self.verbose = verbose }

    /// A target named for a heading, every value from the scanned system escaped.
    static func targetLine(_ target: ScanTarget?) -> String {
        guard let target else { return "this host" }
        return TerminalText.escape(target.label)
    }

    public func render(_ report: ScanReport) -> String {
        var lines: [String] = []
        let stats = report.statistics
        let target: String
        if let image = report.image {
            target = "image \(TerminalText.escape(image.name ?? "(no name)"))@\(image.digest ?? "?") (\(image.format) \(TerminalText.escape(image.path)), \(image.layers) layers)"
        } else if !report.scannedPaths.isEmpty {
            target = "paths \(report.scannedPaths.map(TerminalText.escape).joined(separator: ", "))"
        } else {
            target = report.root == "/" ? "this host (/)" : "offline root \(TerminalText.escape(report.root))"
        }
        lines.append(Self.verdictLine(report))
        lines.append("chainwatch \(ChainwatchVersion.current): scan of \(target) in \(Self.format(stats.durationSeconds)) s")
        lines.append("  \(stats.rules) rules; \(stats.packages) packages; \(stats.processes) processes (\(stats.processesSkipped) skipped"
            + (stats.processesChecked > 0 ? ", \(stats.processesChecked) GOT-checked" : "") + "); "
            + "\(stats.filesExamined) files (\(stats.filesRead) read, \(Self.megabytes(stats.bytesRead)) MB, \(stats.filesFromCache) from cache)")
        for database in report.packageDatabases {
            lines.append(database.wasRead
                ? "  package database \(TerminalText.escape(database.path)) (\(database.format)): \(database.packages) packages"
                : "  PACKAGE DATABASE NOT READ: \(TerminalText.escape(database.path)) (\(database.format)): \(TerminalText.escape(database.problem ?? "")); its packages were not checked")
        }
        if let baseline = report.baseline {
            lines.append("  baseline \(TerminalText.escape(baseline.file)) (sha256 \(baseline.sha256.prefix(16))…, "
                         + (baseline.signer.map { "signed by \(TerminalText.escape($0))" } ?? "unsigned")
                         + "): \(baseline.packages) packages, \(baseline.codeFiles) code files approved"
                         + (baseline.containers > 0 ? ", and \(baseline.containers) container\(baseline.containers == 1 ? "" : "s")" : ""))
        }
        if report.targets.count > 1 {
            lines.append("  \(report.targets.count - 1) container\(report.targets.count == 2 ? "" : "s") scanned, each in its own root:")
            let containers = report.targets.dropFirst()
            // Those with findings first; a long list is cut unless --verbose.
            let withFindings = Set(report.findings.compactMap { $0.target?.kind == .container ? $0.target : nil })
            let ordered = containers.filter { withFindings.contains($0.target) } + containers.filter { !withFindings.contains($0.target) }
            let shown = verbose ? ordered.count : 20
            for summary in ordered.prefix(shown) {
                lines.append("    \(Self.targetLine(summary.target)): \(summary.pids.count) processes, \(summary.packages) packages"
                    + (summary.problems.isEmpty ? "" : "; " + summary.problems.map(TerminalText.escape).joined(separator: "; ")))
            }
            if ordered.count > shown {
                lines.append("    ... and \(ordered.count - shown) more (--verbose lists them)")
            }
        }
        for program in report.programs {
            lines.append("  \(program.target.map { TerminalText.escape($0) + ": " } ?? "")\(TerminalText.escape(program.program)) (\(TerminalText.escape(program.foundBy))): \(program.libraries.count) libraries")
            if verbose {
                for library in program.libraries {
                    lines.append("      \(Self.chain(library.chain, path: library.path))")
                }
            }
            for missing in program.missing { lines.append("      not found: \(TerminalText.escape(missing))") }
        }
        lines += codeInUseLines(report)
        let incomplete = report.incompleteReasons
        if !incomplete.isEmpty {
            lines.append("  INCOMPLETE: the scan could not look at everything it was asked to:")
            for reason in incomplete.prefix(verbose ? Int.max : 12) { lines.append("    - " + TerminalText.escape(reason)) }
            if !verbose && incomplete.count > 12 { lines.append("    ... and \(incomplete.count - 12) more (--verbose lists them)") }
        }
        lines.append("")

        if report.findings.isEmpty {
            lines.append("No findings.")
        }
        // One section per target when containers were scanned: the host's findings, then each container's under
        // a heading that names it.
        let containers = report.targets.dropFirst().map(\.target)
        let sections: [(heading: String?, findings: [Finding])] = containers.isEmpty
            ? [(nil, report.findings)]
            : [("== " + Self.targetLine(report.targets.first?.target), report.findings.filter { $0.target?.kind != .container })]
                + containers.map { target in
                    ("== " + Self.targetLine(target), report.findings.filter { $0.target?.kind == .container && $0.target == target })
                }
        for section in sections where !section.findings.isEmpty {
            if let heading = section.heading { lines.append(heading); lines.append("") }
            let subjects = Subject.group(section.findings)
            for severity in Severity.allCases {
                let group = subjects.filter { $0.highestSeverity == severity }
                guard !group.isEmpty else { continue }
                lines.append("\(severity.rawValue.uppercased()) (\(group.count))")
                for subject in group { lines += subjectLines(subject) }
                lines.append("")
            }
        }

        if !report.suppressed.isEmpty {
            lines.append("SUPPRESSED (\(report.suppressed.count)): accepted by a suppression with a reason, not counted as found" + (verbose ? "" : "; --verbose lists them"))
            if verbose {
                for entry in report.suppressed {
                    lines.append("  [\(entry.finding.rule)] \(entry.finding.severity.rawValue): \(entry.finding.title)")
                    lines += evidenceLines(entry.finding.evidence).map { "      " + $0 }
                    lines.append("      reason:  \(TerminalText.escape(entry.reason)) (\(TerminalText.escape(entry.definedAt))" + (entry.expires.map { ", until \($0)" } ?? "") + ")")
                }
            }
            lines.append("")
        }

        if !report.skipped.isEmpty {
            var reasons: [String: Int] = [:]
            for skip in report.skipped { reasons[skip.reason, default: 0] += 1 }
            lines.append("Skipped \(report.skipped.count):")
            for (reason, count) in reasons.sorted(by: { $0.value > $1.value }) {
                lines.append("  \(count) × \(TerminalText.escape(reason))")
            }
            if verbose {
                for skip in report.skipped {
                    lines.append("    \(skip.target.map { TerminalText.escape($0) + ": " } ?? "")\(TerminalText.escape(skip.subject)): \(TerminalText.escape(skip.reason))")
                }
            }
        }
        for note in report.notes { lines.append("Note: \(TerminalText.escape(note))") }

        let above = report.findings.filter { $0.severity > .info }
        lines.append(above.isEmpty && !incomplete.isEmpty
            ? "Result: INCOMPLETE: nothing above info found, but the scan could not look at everything (\(incomplete.count) reason\(incomplete.count == 1 ? "" : "s") above)."
            : above.isEmpty
            ? "Result: nothing above info found."
            : "Result: \(above.count) finding\(above.count == 1 ? "" : "s") above info; highest \(report.highestSeverity!.rawValue).")
        if !report.suppressed.isEmpty { lines[lines.count - 1] += " \(report.suppressed.count) suppressed." }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The first line: what the exit status says, in words.
    static func verdictLine(_ report: ScanReport) -> String {
        let above = report.findings.filter { $0.severity > .info }
        let subjects = Subject.group(above).count
        if !above.isEmpty {
            return "Verdict: FOUND \(subjects) thing\(subjects == 1 ? "" : "s") wrong (\(above.count) finding\(above.count == 1 ? "" : "s") above info, highest \(report.highestSeverity!.rawValue))"
                + (report.isIncomplete ? "; and the scan could not look at everything" : "") + "."
        }
        return report.isIncomplete
            ? "Verdict: INCOMPLETE: nothing found above info, but the scan could not look at everything (see INCOMPLETE below)."
            : "Verdict: CLEAN: nothing found above info, and the scan looked at everything it was asked to."
    }

    /// One subject: its identity once, then a line per finding (most severe first), then what to do.
    func subjectLines(_ subject: Subject) -> [String] {
        var lines: [String] = []
        let name = subject.path ?? subject.package.map { "package \($0)" + (subject.version.map { " " + $0 } ?? "") } ?? subject.pids.first.map { "process \($0)" } ?? "this scan"
        lines.append("  " + TerminalText.escape(name) + (subject.kind == .process ? " (running)" : ""))
        for chain in subject.chains.prefix(verbose ? .max : 2) { lines.append("      chain:   " + Self.chain(chain, path: subject.path)) }
        if subject.chains.count > 2 && !verbose { lines.append("      chain:   ... and \(subject.chains.count - 2) more (--verbose lists them)") }
        if subject.path != nil, let package = subject.package {
            lines.append("      package: \(TerminalText.escape(package)) \(TerminalText.escape(subject.version ?? ""))")
        }
        if let sha256 = subject.sha256 { lines.append("      sha256:  " + sha256) }
        if !subject.pids.isEmpty {
            let shown = subject.pids.prefix(10).map(String.init).joined(separator: ", ")
            lines.append("      pid:     " + shown + (subject.pids.count > 10 ? " and \(subject.pids.count - 10) more" : ""))
        }
        if !subject.seenAs.isEmpty { lines.append("      seen as: " + subject.seenAs.joined(separator: ", ")) }
        for finding in subject.findings {
            let label = finding.severity.rawValue.uppercased()
            let severity = label + String(repeating: " ", count: max(0, 8 - label.count))
            lines.append("    \(severity) [\(finding.rule)] \(finding.title)")
            lines += findingLines(finding.evidence).map { "               " + $0 }
            if let others = subject.restating[finding.rule]?.filter({ $0.rule != finding.rule }), !others.isEmpty {
                lines.append("               also says so: " + others.map { "[\($0.rule)] \($0.severity.rawValue)" }.joined(separator: ", "))
            }
        }
        // What to do: the advice of the most severe rule above info (each rule's once), and where to read more.
        if let top = Self.advice(subject.findings) {
            lines.append("      what to do:")
            lines += Self.wrap(top.description, width: 100).map { "        " + $0 }
            if !top.references.isEmpty { lines.append("        see: " + top.references.prefix(2).joined(separator: " ")) }
        }
        return lines
    }

    /// The finding whose rule says best what to do: the most severe above info, and of those the one about the
    /// thing itself (its package, hash, bytes, hooks) before one about how a program reaches it.
    static func advice(_ findings: [Finding]) -> Finding? {
        let order: [RuleKind] = [.packageVersion, .fileHash, .byteSignature, .gotIntegrity, .loaderInjection,
                                 .ifuncResolver, .provenance, .elfFeature, .dependencyChain]
        return findings.filter { $0.severity > .info && !$0.description.isEmpty }.min {
            ($1.severity.rank, order.firstIndex(of: $0.kind) ?? order.count) < ($0.severity.rank, order.firstIndex(of: $1.kind) ?? order.count)
        }
    }

    /// What a finding says beyond its subject's identity.
    func findingLines(_ evidence: Evidence) -> [String] {
        var lines: [String] = []
        if let symbol = evidence.symbol {
            lines.append("symbol:  \(TerminalText.escape(symbol)) (GOT slot \(evidence.slotAddress ?? "?"))")
        }
        if let target = evidence.pointsTo { lines.append("points:  into " + TerminalText.escape(target)) }
        if let expected = evidence.expected { lines.append("expected: " + TerminalText.escape(expected)) }
        if let integrity = evidence.integrity { lines.append("integrity: " + integrity) }
        if let location = evidence.location { lines.append("location: " + location + (evidence.writableBy.map { "; " + TerminalText.escape($0) } ?? "")) }
        if let name = evidence.matchedName { lines.append("name:    " + TerminalText.escape(name) + " (the name the rule matched)") }
        if let mapping = evidence.mapping { lines.append("mapping: " + TerminalText.escape(mapping)) }
        if let rule = evidence.yaraRule {
            lines.append("yara:    \(TerminalText.escape(rule))" + (evidence.yaraNamespace.map { " in " + TerminalText.escape($0) } ?? "")
                + (evidence.yaraStrings.map { ": " + $0.map(TerminalText.escape).joined(separator: ", ") } ?? ""))
        }
        if let detail = evidence.detail { lines.append("detail:  " + TerminalText.escape(detail)) }
        return lines
    }

    /// Words of `text` (a rule's description: the rule author's text, printed as is) in lines of at most `width`.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// A finding's whole evidence, its file's identity included (suppressed findings, listed one by one).
    func evidenceLines(_ evidence: Evidence) -> [String] {
        var lines: [String] = []
        if let chain = evidence.chain, chain.count > 1 {
            lines.append("chain:   " + Self.chain(chain, path: evidence.path))
        }
        if let path = evidence.path { lines.append("path:    " + TerminalText.escape(path)) }
        if let package = evidence.package {
            lines.append("package: \(TerminalText.escape(package)) \(TerminalText.escape(evidence.version ?? ""))")
        }
        if let sha256 = evidence.sha256 { lines.append("sha256:  " + sha256) }
        if let pids = evidence.pids, !pids.isEmpty {
            let shown = pids.prefix(10).map(String.init).joined(separator: ", ")
            lines.append("pid:     " + shown + (pids.count > 10 ? " and \(pids.count - 10) more" : ""))
        }
        if let seen = evidence.seenAs, !seen.isEmpty { lines.append("seen as: " + seen.joined(separator: ", ")) }
        return lines + findingLines(evidence)
    }

    /// "/usr/sbin/sshd -> libsystemd.so.0 -> liblzma.so.5 (/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1)"
    static func chain(_ chain: [String], path: String?) -> String {
        let text = chain.map(TerminalText.escape).joined(separator: " -> ")
        guard let path else { return text }
        return text + " (\(TerminalText.escape(path)))"
    }

    static func format(_ seconds: Double) -> String {
        let hundredths = Int((seconds * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static func megabytes(_ bytes: Int64) -> String { format(Double(bytes) / 1_000_000) }
}
