import Foundation
import Testing
@testable import Engine
import HostIO
@testable import Probes
@testable import Rules

/// Package age (issue 24, part 3): build dates from each database, a dpkg package's changelog date, the rule's
/// decoding, and its verdicts, including the xz case at its disclosure date.
@Suite struct PackageAgeTests {
    static let ageRule = """
        chainwatch-rules: 1
        rules:
          - id: package-age-test
            title: Package too young
            kind: package-age
            severity: medium
            message-id: 0123456789abcdef0123456789abcdef
            description: d
            references: []
            tags: []
            match:
              minimum-days: 60

        """

    @Test func rfc2822DatesAsChangelogsWriteThem() {
        // `date -u -d 'Thu, 29 Feb 2024 17:30:12 +0100' +%s` = 1709224212
        #expect(RFC2822.seconds("Thu, 29 Feb 2024 17:30:12 +0100") == 1_709_224_212)
        #expect(RFC2822.seconds("29 Feb 2024 17:30:12 +0100") == 1_709_224_212)
        #expect(RFC2822.seconds("Sat, 09 Mar 2024 10:00:00 -0500") == 1_709_996_400)
        for bad in ["Fri, 30 Feb 2024 17:30:12 +0100", "Thu, 29 Feb 2024 17:30 +0100", "Thu, 29 Feb 2024 17:30:12",
                    "Thu, 29 Fev 2024 17:30:12 +0100", "Thu, 29 Feb 2024 17:30:12 +9900", "", "garbage"] {
            #expect(RFC2822.seconds(bad) == nil, "\(bad)")
        }
        #expect(UTCDate.format(1_709_224_212) == "2024-02-29")
        #expect(UTCDate.format(0) == "1970-01-01")
        #expect(UTCDate.iso8601(1_709_224_212) == "2024-02-29T16:30:12Z")
        #expect(UTCDate.iso8601(-1) == "1969-12-31T23:59:59Z")
    }

    @Test func theFirstEntryIsTheNewest() {
        let text = """
            xz-utils (5.6.1-1) unstable; urgency=medium

              * New upstream version.

             -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Wed, 27 Mar 2024 22:53:21 +0100

            xz-utils (5.6.0-0.2) unstable; urgency=medium

             -- Sebastian Andrzej Siewior <sebastian@breakpoint.cc>  Sun, 03 Mar 2024 23:21:43 +0100

            """
        #expect(DebianChangelog.firstEntryDate(text: Array(text.utf8)[...], label: "x") == .known(1_711_576_401))
        guard case .unknown(let reason) = DebianChangelog.firstEntryDate(text: Array("no trailer here\n".utf8)[...], label: "x") else {
            Issue.record("a changelog without a trailer has no date")
            return
        }
        #expect(reason.contains("no entry trailer"))
        guard case .unknown(let notGzip) = DebianChangelog.firstEntryDate(gzipped: Array(text.utf8), label: "x") else {
            Issue.record("plain text is not a gzip file")
            return
        }
        #expect(notGzip.contains("not gzip"))
    }

    /// A date before 1990 or after the scan's clock is unknown: neither old nor young.
    @Test func implausibleDatesAreUnknown() throws {
        let now: Int64 = 1_800_000_000
        func date(_ seconds: Int64) -> Result<Int64, PackageDates.DateProblem> {
            PackageDates(origin: .rpmBuildTime, built: .known(seconds)).buildDate(now: now)
        }
        #expect(try date(now - 86_400).get() == now - 86_400)
        #expect(throws: PackageDates.DateProblem.self) { try date(0).get() }
        #expect(throws: PackageDates.DateProblem.self) { try date(PackageDates.earliestBelievable - 1).get() }
        #expect(throws: PackageDates.DateProblem.self) { try date(now + 2 * 86_400).get() }
    }

    @Test func theRuleDecodes() throws {
        let (rules, problems) = RuleLoader.decode(Self.ageRule.replacingOccurrences(of: "minimum-days: 60", with: """
            minimum-days: 60
                  ecosystem: debian
                  packages: ["liblzma*", xz-utils]
                  unknown-dates: incomplete
            """), file: "age.yaml")
        #expect(problems.isEmpty, "\(problems)")
        let rule = try #require(rules.first)
        #expect(rule.kind == .packageAge)
        #expect(rule.match == .packageAge(PackageAgeMatch(minimumDays: 60, ecosystem: .debian, packages: ["liblzma*", "xz-utils"],
                                                          unknownDates: .incomplete)))
    }

    @Test(arguments: [
        ("minimum-days: 60", "minimum-days: 0", "minimum-days"),
        ("minimum-days: 60", "minimum-days: -5", "minimum-days"),
        ("minimum-days: 60", "minimum-days: sixty", "minimum-days"),
        ("minimum-days: 60", "minimum-days: 5000", "minimum-days"),
        ("minimum-days: 60", "minimum-days: 60\n      ecosystem: deb", "ecosystem"),
        ("minimum-days: 60", "minimum-days: 60\n      unknown-dates: maybe", "unknown-dates"),
        ("minimum-days: 60", "minimum-days: 60\n      packages: []", "packages"),
        ("minimum-days: 60", "minimum-days: 60\n      minimum-age: 3", "minimum-age"),
        ("minimum-days: 60", "ecosystem: debian", "minimum-days"),
    ])
    func badValuesNameFileLineAndKey(_ original: String, _ replacement: String, _ key: String) {
        let (_, problems) = RuleLoader.decode(Self.ageRule.replacingOccurrences(of: original, with: replacement), file: "age.yaml")
        let problem = problems.first { $0.key == key }
        #expect(problem != nil, "\(replacement): \(problems)")
        #expect(problem?.file == "age.yaml")
        #expect(problem?.line != nil)
    }

    static func verdict(_ document: [String: Any]) -> [String: Any] { document["verdict"] as? [String: Any] ?? [:] }

    /// The shipped example is valid once copied in as a .yaml file, and is not loaded where it ships.
    @Test func theShippedExampleIsOptIn() throws {
        let example = Support.rulesDirectory + "/package-age/package-age.yaml.example"
        let text = try String(contentsOfFile: example, encoding: .utf8)
        let (rules, problems) = RuleLoader.decode(text, file: "package-age.yaml")
        #expect(problems.isEmpty, "\(problems)")
        #expect(rules.map(\.match) == [.packageAge(PackageAgeMatch(minimumDays: 60))])
        let shipped = try RuleLoader.load(from: [Support.rulesDirectory])
        #expect(shipped.rules(of: .packageAge).isEmpty)
    }

    /// apk's `t:` and pacman's %BUILDDATE% / %INSTALLDATE% as the databases store them; a record without a date, or
    /// with a malformed one, is unknown.
    @Test func apkAndPacmanRecordTheirDates() throws {
        let root = try Support.temporaryDirectory("age-dbs")
        defer { Support.remove(root) }
        try FileManager.default.createDirectory(atPath: root + "/lib/apk/db", withIntermediateDirectories: true)
        try """
            P:xz-libs
            V:5.6.1-r1
            A:x86_64
            o:xz
            t:1709942400

            P:musl
            V:1.2.4-r2
            A:x86_64

            P:zlib
            V:1.3.1-r0
            t:yesterday

            """.write(toFile: root + "/lib/apk/db/installed", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/var/lib/pacman/local/xz-5.6.0-1", withIntermediateDirectories: true)
        try "%NAME%\nxz\n\n%VERSION%\n5.6.0-1\n\n%BUILDDATE%\n1708732800\n\n%INSTALLDATE%\n1709000000\n\n"
            .write(toFile: root + "/var/lib/pacman/local/xz-5.6.0-1/desc", atomically: true, encoding: .utf8)
        let inventory = PackageDatabases.read(root: ConfinedRoot(root))
        func dates(_ name: String) throws -> PackageDates {
            let package = try #require(inventory.packages.first { $0.name == name })
            return try #require(inventory.recordedDates(of: package))
        }
        #expect(try dates("xz-libs") == PackageDates(origin: .apkBuildTime, built: .known(1_709_942_400)))
        #expect(try dates("musl").built == .unknown("no t: field"))
        #expect(try dates("zlib").built == .unknown("t: 'yesterday' is not a number of seconds"))
        #expect(try dates("xz") == PackageDates(origin: .pacmanBuildDate, built: .known(1_708_732_800), installed: 1_709_000_000))
    }

    /// xz 5.6.0 (tagged 2024-02-24) and 5.6.1 (2024-03-09) on the day the backdoor was disclosed, 2024-03-29:
    /// both younger than 60 days, so a 60-day policy would have kept them off; a year later both pass.
    @Test func theXZCase() throws {
        let plan = try MatcherTests.plan(MatcherTests.rule("xz-age", kind: "package-age", severity: "medium",
                                                           match: "{minimum-days: 60, packages: [\"xz*\"]}"))
        var inventory = PackageInventory()
        let tagged: [(String, Int64)] = [("5.6.0-1", 1_708_732_800), ("5.6.1-1", 1_709_942_400), ("5.4.5-1", 1_698_796_800)]
        var dates: [InstalledPackage: PackageDates] = [:]
        for (version, built) in tagged {
            let package = InstalledPackage(ecosystem: .arch, name: "xz", version: version, source: "xz", architecture: "x86_64", state: "installed")
            inventory.add(package, files: [], dates: PackageDates(origin: .pacmanBuildDate, built: .known(built)))
            dates[package] = inventory.recordedDates(of: package)
        }
        let disclosure: Int64 = 1_711_670_400   // 2024-03-29
        var facts = ScanFacts(root: .host, inventory: inventory, files: [], graphs: [])
        facts.packageAges = PackageAges(now: disclosure, dates: dates)
        let young = plan.findings(facts)
        #expect(young.compactMap(\.evidence.version).sorted() == ["5.6.0-1", "5.6.1-1"])
        #expect(young.allSatisfy { $0.evidence.detail?.contains("younger than the policy's minimum of 60 days") == true })
        #expect(young.first { $0.evidence.version == "5.6.1-1" }?.evidence.detail?.contains("built 2024-03-09 by pacman %BUILDDATE%; 20 days old") == true)
        facts.packageAges = PackageAges(now: disclosure + 365 * 86_400, dates: dates)
        #expect(plan.findings(facts).isEmpty)
    }
}

extension LiveSystemTests {
/// Package age on roots written by the real dpkg and rpm, on hostile changelogs, and on this host against
/// dpkg-parsechangelog and an independent reading of every changelog.
@Suite(.serialized) struct PackageAgeLiveTests {
    static func rules(_ text: String = PackageAgeTests.ageRule) throws -> String {
        let directory = try Support.temporaryDirectory("age-rules")
        try text.write(toFile: directory + "/age.yaml", atomically: true, encoding: .utf8)
        return directory
    }

    static func details(_ document: [String: Any], rule: String = "package-age-test") -> [String: String] {
        var result: [String: String] = [:]
        for finding in Support.findings(document) where finding["rule"] as? String == rule {
            let evidence = finding["evidence"] as? [String: Any] ?? [:]
            result[evidence["package"] as? String ?? "?"] = evidence["detail"] as? String ?? ""
        }
        return result
    }

    static func day(_ seconds: Int64) -> String { UTCDate.format(seconds) }

    /// rpmbuild today: BUILDTIME is today, younger than 60 days; rpm's own query gives the same dates. The same
    /// packages pinned to 2024-04-01 (the fixture's default) are old enough.
    @Test func anRPMBuiltTodayIsTooYoung() throws {
        let rules = try Self.rules()
        defer { Support.remove(rules) }
        let root = try Support.fixture("make-rpm-root.sh", ["--build-now", "--no-tamper"])
        let (result, document) = try Support.scanJSON(["--rules", rules, "--root", root])
        #expect(result.status == 1, "\(result.stderr)")
        let details = Self.details(document)
        #expect(details.keys.sorted() == ["libclean", "liboldmd5", "libtampered", "openssh-server", "xz-libs"])
        let query = try Support.run("/usr/bin/rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "-qa", "--qf", "%{NAME} %{BUILDTIME} %{INSTALLTIME}\\n"])
        for line in query.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let built = Int64(fields[1]), let installed = Int64(fields[2]) else { continue }
            let detail = details[String(fields[0])] ?? ""
            #expect(detail.contains("built \(Self.day(built)) by rpm BUILDTIME, installed \(Self.day(installed)); 0 days old"), "\(detail)")
            let evidence = Support.findings(document).first { ($0["evidence"] as? [String: Any])?["package"] as? String == String(fields[0]) }?["evidence"] as? [String: Any] ?? [:]
            #expect(evidence["built"] as? String == UTCDate.iso8601(built), "\(evidence)")
            #expect(evidence["installed"] as? String == UTCDate.iso8601(installed), "\(evidence)")
            #expect(evidence["built_from"] as? String == "rpm BUILDTIME")
            #expect(evidence["age_days"] as? Int == 0)
            #expect(evidence["minimum_days"] as? Int == 60)
        }
        let (valid, output) = try ReportFormatTests.validate([result.stdout])
        #expect(valid, "the report with package-age evidence fits docs/schema/report.schema.json: \(output)")
        let pinned = try Support.fixture("make-rpm-root.sh", ["--no-tamper"])
        let (old, oldDocument) = try Support.scanJSON(["--rules", rules, "--root", pinned])
        #expect(old.status == 0, "\(old.stdout)")
        #expect(Self.details(oldDocument).isEmpty)
    }

    /// dpkg packages whose changelog's first entry is dated today are too young; dated in 2024, old enough. The
    /// date agrees with dpkg-parsechangelog's, the install date with the mtime of dpkg's file list.
    @Test func aDebianUploadOfTodayIsTooYoung() throws {
        let rules = try Self.rules()
        defer { Support.remove(rules) }
        let root = try Support.fixture("make-dpkg-root.sh", ["--no-tamper", "--changelog-date", "Mon, 07 Dec 2026 00:00:00 +0000"
            .replacingOccurrences(of: "Mon, 07 Dec 2026 00:00:00 +0000", with: Self.rfc2822Now())])
        let (result, document) = try Support.scanJSON(["--rules", rules, "--root", root])
        #expect(result.status == 1, "\(result.stderr)")
        let details = Self.details(document)
        #expect(details.keys.sorted() == ["libclean1", "libdiv-override", "libdiv1", "libnosums1", "libold1", "libtampered1", "openssh-server"])
        let changelog = root + "/usr/share/doc/libclean1/changelog.Debian.gz"
        let parsed = try Support.run("/usr/bin/dpkg-parsechangelog", ["-l", changelog, "-S", "Timestamp"])
        let timestamp = try #require(Int64(parsed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let listed = try FileManager.default.attributesOfItem(atPath: root + "/var/lib/dpkg/info/libclean1:amd64.list")[.modificationDate] as? Date
        let installed = Int64(try #require(listed).timeIntervalSince1970)
        #expect(details["libclean1"]?.contains("built \(Self.day(timestamp)) by upload date of the first entry of changelog.Debian (heuristic) of /usr/share/doc/libclean1/changelog.Debian.gz, installed \(Self.day(installed)); 0 days old") == true,
                "\(details["libclean1"] ?? "")")
        let older = try Support.fixture("make-dpkg-root.sh", ["--no-tamper", "--changelog-date", "Fri, 01 Mar 2024 12:00:00 +0000"])
        let (old, oldDocument) = try Support.scanJSON(["--rules", rules, "--root", older])
        #expect(old.status == 0, "\(old.stdout)")
        #expect(Self.details(oldDocument).isEmpty)
    }

    /// The same dpkg root as a one-layer OCI image (umoci): the unpack keeps the changelogs, so `--image` dates
    /// its packages as `--root` does.
    @Test func anImageIsDatedAsItsRootIs() throws {
        let rules = try Self.rules()
        defer { Support.remove(rules) }
        let root = try Support.fixture("make-dpkg-root.sh", ["--no-tamper", "--changelog-date", Self.rfc2822Now()])
        let work = try Support.temporaryDirectory("age-image")
        defer { Support.remove(work) }
        let image = try Support.ociImage(of: root, in: work, tag: "age")
        let (result, document) = try Support.scanJSON(["--rules", rules, "--image", image])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.details(document).keys.sorted() == ["libclean1", "libdiv-override", "libdiv1", "libnosums1", "libold1", "libtampered1", "openssh-server"],
                "\(document["notes"] ?? "")")
    }

    /// A running container is a target of its own: its dpkg database and its own changelogs, read through its
    /// root. A rule limited to containers dates the container's libc6 (whose changelog was rewritten in it to
    /// say today) and nothing of the host.
    @Test func aContainerIsDatedFromItsOwnRoot() throws {
        let container = try Containers.Running(ContainerTests.cleanImage, name: "cw-test-age")
        defer { container.remove() }
        let write = try container.exec(["sh", "-c", "printf 'glibc (9:1-1) bookworm; urgency=medium\\n\\n  * x\\n\\n -- A <a@example.invalid>  %s\\n' \"$(date -R)\" | gzip -9n > /usr/share/doc/libc6/changelog.Debian.gz"])
        try #require(write.status == 0, "\(write.stderr)")
        let rules = try Self.rules(PackageAgeTests.ageRule
            .replacingOccurrences(of: "minimum-days: 60", with: "minimum-days: 60\n      packages: [libc6]")
            .replacingOccurrences(of: "    tags: []", with: "    tags: []\n    targets: [containers]"))
        defer { Support.remove(rules) }
        let (result, document) = try Support.scanJSON(["--rules", rules])
        #expect(result.status == 1, "\(result.stderr)")
        let found = Support.findings(document).filter { $0["rule"] as? String == "package-age-test" }
        #expect(found.count == 1, "\(found)")
        let finding = try #require(found.first)
        #expect(Containers.target(finding)["name"] as? String == container.name)
        #expect(Containers.evidence(finding)["package"] as? String == "libc6")
        #expect(Containers.evidence(finding)["age_days"] as? Int == 0)
        #expect((Containers.evidence(finding)["built_from"] as? String)?.contains("changelog.Debian") == true)
    }

    static func rfc2822Now() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: Date())
    }

    /// A root whose packages' changelogs are hostile: each is unknown (a note, a skip only when the rule asks),
    /// never a finding and never a crash; only the honest young one is a finding.
    @Test func hostileChangelogsAreUnknown() throws {
        let root = try Support.temporaryDirectory("age-hostile")
        defer { Support.remove(root) }
        let now = Self.rfc2822Now()
        let entry = { (date: String) in "p (1-1) bookworm; urgency=medium\n\n  * x\n\n -- A <a@example.invalid>  \(date)\n" }
        let script = """
            set -e
            cd "$1"
            d=usr/share/doc
            mkdir -p var/lib/dpkg $d/young $d/bomb $d/truncated $d/notgzip $d/future $d/epoch $d/fifo
            mkfifo $d/fifo/changelog.Debian.gz
            printf '%s' "$2" | gzip -9n > $d/young/changelog.Debian.gz
            { head -c 67108864 /dev/zero; printf '%s' "$2"; } | gzip -1n > $d/bomb/changelog.Debian.gz
            printf '%s' "$2" | gzip -9n > full.gz; head -c $(( $(stat -c %s full.gz) * 2 / 3 )) full.gz > $d/truncated/changelog.Debian.gz; rm full.gz
            printf '%s' "$2" > $d/notgzip/changelog.Debian.gz
            printf '%s' "$3" | gzip -9n > $d/future/changelog.Debian.gz
            printf '%s' "$4" | gzip -9n > $d/epoch/changelog.Debian.gz
            """
        let made = try Support.run("/bin/bash", ["-c", script, "-", root, entry(now), entry("Thu, 01 Jan 2099 00:00:00 +0000"),
                                                 entry("Thu, 01 Jan 1970 00:00:00 +0000")])
        try #require(made.status == 0, "\(made.stderr)")
        let names = ["young", "bomb", "truncated", "notgzip", "future", "epoch", "fifo", "nodoc"]
        try names.map { "Package: \($0)\nStatus: install ok installed\nVersion: 1-1\nArchitecture: all\n" }.joined(separator: "\n")
            .write(toFile: root + "/var/lib/dpkg/status", atomically: true, encoding: .utf8)

        let rules = try Self.rules()
        defer { Support.remove(rules) }
        let started = Date()
        let (result, document) = try Support.scanJSON(["--rules", rules, "--root", root])
        #expect(Date().timeIntervalSince(started) < 30, "the 64 MiB bomb was inflated no further than its bound")
        #expect(result.status == 1, "\(result.stderr)")
        #expect(Self.details(document).keys.sorted() == ["young"])
        let notes = (document["notes"] as? [String] ?? []).filter { $0.hasPrefix("package-age-test: ") }
        #expect(notes.count == 1 && notes[0].contains("build date unknown for 7 of 8 packages"), "\(notes)")
        let reasons = notes.first ?? ""
        // The note names five, with their reasons, and counts the rest.
        #expect(reasons.components(separatedBy: " (").count - 1 >= 5 && reasons.contains("and 2 more"), "\(reasons)")
        #expect((document["skipped"] as? [Any] ?? []).isEmpty)
        #expect(PackageAgeTests.verdict(document)["complete"] as? Bool == true)

        let strict = try Self.rules(PackageAgeTests.ageRule.replacingOccurrences(of: "minimum-days: 60", with: "minimum-days: 60\n      unknown-dates: incomplete"))
        defer { Support.remove(strict) }
        let (_, strictDocument) = try Support.scanJSON(["--rules", strict, "--root", root])
        let skips = (strictDocument["skipped"] as? [[String: Any]] ?? []).compactMap { $0["subject"] as? String }
        #expect(skips.count == 7, "\(skips)")
        #expect(PackageAgeTests.verdict(strictDocument)["complete"] as? Bool == false)
        // Each hostile file's reason, as the bounded readers recorded it.
        let why = Dictionary((strictDocument["skipped"] as? [[String: Any]] ?? []).map {
            (String(($0["subject"] as? String ?? "").split(separator: " ")[1]), $0["reason"] as? String ?? "")
        }, uniquingKeysWith: { first, _ in first })
        #expect(why["bomb"]?.contains("no entry trailer") == true, "\(why)")
        #expect(why["notgzip"]?.contains("not gzip") == true, "\(why)")
        #expect(why["future"]?.contains("after the scan's clock") == true, "\(why)")
        #expect(why["epoch"]?.contains("before 1990") == true, "\(why)")
        #expect(why["nodoc"]?.contains("no changelog") == true, "\(why)")
        #expect(why["truncated"]?.contains("truncated") == true, "\(why)")
        #expect(why["fifo"] != nil, "a FIFO is not opened for reading (it would block): \(why)")
    }

    /// Reads every installed package's changelog as chainwatch should (same files, same bounds, same limits on
    /// dates) with Python's gzip and RFC 2822 parser: "young <60 days", "unknown" and "old" counts, and each
    /// package's date, as JSON.
    static let oracle = #"""
        import email.utils, json, os, subprocess, sys, zlib
        now = float(sys.argv[1]); days = int(sys.argv[2])
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Architecture}\t${Status}\n"], capture_output=True, text=True).stdout
        states = {"installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending"}
        counts = {"young": 0, "old": 0, "unknown": 0}; dates = {}
        for line in out.splitlines():
            name, arch, status = line.split("\t")
            if status.split(" ")[-1] not in states: continue
            names = (["changelog.Debian.%s.gz" % arch] if arch not in ("", "all") else []) + ["changelog.Debian.gz", "changelog.gz"]
            path = next((p for p in ("/usr/share/doc/%s/%s" % (name, n) for n in names) if os.path.exists(p)), None)
            when = None
            if path:
                try:
                    raw = open(path, "rb").read(1 << 20)
                    text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, 256 << 10)
                    trailer = next((l for l in text.split(b"\n") if l.startswith(b" -- ")), None)
                    if trailer is not None and b">" in trailer:
                        when = email.utils.parsedate_to_datetime(trailer.rsplit(b">", 1)[1].decode().strip()).timestamp()
                except Exception:
                    when = None
            if when is None or when < 631152000 or when > now + 86400:
                counts["unknown"] += 1
            else:
                counts["young" if now - when < days * 86400 else "old"] += 1
                dates[name] = (int(when), path)
        print(json.dumps({"counts": counts, "dates": dates}))
        """#
}
}

extension LiveSystemTests {
/// This host's own packages under the opt-in rule: the counts of too young and unknown agree with an independent
/// reading of every changelog, and a sample of dates with dpkg-parsechangelog.
@Suite(.serialized) struct HostPackageAgeTests {
    @Test func hostCountsAgreeWithTheChangelogs() throws {
        try #require(FileManager.default.fileExists(atPath: "/var/lib/dpkg/status"), "a Debian host")
        let example = try String(contentsOfFile: Support.rulesDirectory + "/package-age/package-age.yaml.example", encoding: .utf8)
        // A second rule dates nearly every package (a finding per package uploaded in the last ten years).
        let rules = try PackageAgeLiveTests.rules(example + """
              - {id: package-age-decade, title: t, kind: package-age, severity: low, message-id: 00000000000000000000000000000a9e,
                 description: d, references: [], tags: [], match: {minimum-days: 3650, ecosystem: debian}}

            """)
        defer { Support.remove(rules) }
        let (result, document) = try Support.scanJSON(["--rules", rules, "--no-processes"])
        #expect([0, 1].contains(result.status), "\(result.stderr)")
        let startedText = try #require((document["scan"] as? [String: Any])?["started_at"] as? String)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = try #require(formatter.date(from: startedText)).timeIntervalSince1970

        let run = try Support.run("/usr/bin/python3", ["-c", PackageAgeLiveTests.oracle, String(started), "60"])
        let oracle = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
        let counts = oracle["counts"] as? [String: Int] ?? [:]
        let young = PackageAgeLiveTests.details(document, rule: "package-age-minimum")
        #expect(young.count == counts["young"], "chainwatch \(young.count) young, the changelogs \(counts)")
        let notes = (document["notes"] as? [String] ?? []).filter { $0.hasPrefix("package-age-minimum: ") }
        if counts["unknown"] ?? 0 == 0 {
            #expect(notes.isEmpty, "\(notes)")
        } else {
            #expect(notes.first?.contains("build date unknown for \(counts["unknown"]!) of ") == true, "\(notes) \(counts)")
        }

        // A sample of dates, day by day, against dpkg-parsechangelog on the same files.
        let dated = PackageAgeLiveTests.details(document, rule: "package-age-decade")
        let oracleDates = oracle["dates"] as? [String: [Any]] ?? [:]
        let sample = dated.keys.sorted().enumerated().filter { $0.offset % max(1, dated.count / 12) == 0 }.map(\.element)
        #expect(sample.count >= 5, "\(dated.count) packages dated in the last ten years")
        for name in sample {
            let path = try #require(oracleDates[name]?[1] as? String, "\(name)")
            let parsed = try Support.run("/usr/bin/dpkg-parsechangelog", ["-l", path, "-S", "Timestamp"])
            let digits = String(parsed.stdout.filter { $0.isNumber })
            let timestamp = try #require(Int64(digits), "\(name): \(parsed.stderr)")
            #expect(dated[name]?.contains("built \(PackageAgeLiveTests.day(timestamp)) by upload date") == true, "\(name): \(dated[name] ?? "")")
            #expect(dated[name]?.contains(" of \(path)") == true, "\(name): \(dated[name] ?? "")")
        }
    }
}
}
