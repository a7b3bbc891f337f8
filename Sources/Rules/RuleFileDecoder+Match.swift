import Probes
import YAML

/// The `match:` entry of each rule kind: the one place a new kind's keys are decoded.
extension RuleFileDecoder {
    static let matchKeys: [RuleKind: [String]] = [
        .packageVersion: ["ecosystem", "packages", "versions", "ranges"],
        .fileHash: ["files", "file-type", "hashes"],
        .byteSignature: ["files", "file-type", "condition", "patterns"],
        .elfFeature: ["files", "condition", "ifunc-symbols", "irelative-relocations", "symbols"],
        .ifuncResolver: ["files", "condition", "instructions-over", "calls-outside", "data-references",
                         "pointer-writes-over", "indirect-calls-over", "system-calls", "bound-reached", "except-dynamic-linker"],
        .dependencyChain: ["binary", "library", "through", "escalate-to"],
        .gotIntegrity: ["programs", "symbols"],
        .loaderInjection: ["programs", "preload-file", "environment", "audit-entries", "code-outside-files"],
        .provenance: ["programs", "processes", "library-directories", "files", "condition",
                      "owner", "integrity", "location", "writable-by-non-root", "deleted"],
        .packageAge: ["minimum-days", "ecosystem", "packages", "unknown-dates"],
        .baselineDrift: ["drift", "mapped-by", "programs", "in-graph-of"],
        .yara: [],
    ]

    mutating func decodeMatch(_ node: Node, kind: RuleKind) -> RuleMatch? {
        guard let map = mapping(node, key: "match") else { return nil }
        let allowed = Self.matchKeys[kind]!
        switch kind {
        case .packageVersion: return decodePackageVersion(map, node, allowed: allowed).map(RuleMatch.packageVersion)
        case .fileHash: return decodeFileHash(map, node, allowed: allowed).map(RuleMatch.fileHash)
        case .byteSignature: return decodeByteSignature(map, node, allowed: allowed).map(RuleMatch.byteSignature)
        case .elfFeature: return decodeELFFeature(map, node, allowed: allowed).map(RuleMatch.elfFeature)
        case .ifuncResolver: return decodeIFUNCResolver(map, node, allowed: allowed).map(RuleMatch.ifuncResolver)
        case .dependencyChain: return decodeDependencyChain(map, node, allowed: allowed).map(RuleMatch.dependencyChain)
        case .gotIntegrity: return decodeGOTIntegrity(map, node, allowed: allowed).map(RuleMatch.gotIntegrity)
        case .loaderInjection: return decodeLoaderInjection(map, node, allowed: allowed).map(RuleMatch.loaderInjection)
        case .provenance: return decodeProvenance(map, node, allowed: allowed).map(RuleMatch.provenance)
        case .packageAge: return decodePackageAge(map, node, allowed: allowed).map(RuleMatch.packageAge)
        case .baselineDrift: return decodeBaselineDrift(map, node, allowed: allowed).map(RuleMatch.baselineDrift)
        case .yara:
            fail(node, key: "kind", "YARA rules are written in YARA files (*.yar, *.yara) placed in a rules directory, not in YAML; see docs/yara.md")
            return nil
        }
    }

    private mutating func decodePackageVersion(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> PackageVersionMatch? {
        checkKeys(map, allowed: allowed, required: ["ecosystem", "packages"], at: node)
        let ecosystemText = string(map, "ecosystem")
        let ecosystem = ecosystemText.flatMap(PackageEcosystem.init(rawValue:))
        if let ecosystemText, ecosystem == nil {
            fail(map["ecosystem"]!, key: "ecosystem",
                 "unknown ecosystem '\(ecosystemText)'; expected one of \(PackageEcosystem.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let packages = nonEmptyList(map, "packages")
        let versions = stringList(map, "versions") ?? []
        let ranges = map["ranges"].map { decodeRanges($0) } ?? []
        if versions.isEmpty && ranges.isEmpty {
            fail(node, key: "match", "a package-version rule needs 'versions' or 'ranges'")
        }
        guard let ecosystem, let packages else { return nil }
        return PackageVersionMatch(ecosystem: ecosystem, packages: packages, versions: versions, ranges: ranges)
    }

    private mutating func decodeFileHash(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> FileHashMatch? {
        checkKeys(map, allowed: allowed, required: ["hashes"], at: node)
        let files = fileSelector(map, defaultType: .any)
        guard let hashesNode = map["hashes"], case .sequence(let list) = hashesNode, !list.isEmpty else {
            if let hashesNode = map["hashes"] { fail(hashesNode, key: "hashes", "expected a non-empty list of {sha256, file, source}") }
            return nil
        }
        var hashes: [KnownHash] = []
        for entry in list {
            guard let item = mapping(entry, key: "hashes") else { continue }
            checkKeys(item, allowed: ["sha256", "file", "source"], required: ["sha256", "file", "source"], at: entry)
            guard let hash = string(item, "sha256"), let fileName = string(item, "file"), let source = string(item, "source") else { continue }
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
                fail(item["sha256"]!, key: "sha256", "'\(hash)' is not a SHA-256 (64 hex digits)")
                continue
            }
            hashes.append(KnownHash(sha256: hash.lowercased(), file: fileName, source: source))
        }
        guard let files else { return nil }
        return FileHashMatch(files: files, hashes: hashes)
    }

    private mutating func decodeByteSignature(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> ByteSignatureMatch? {
        checkKeys(map, allowed: allowed, required: ["patterns"], at: node)
        let files = fileSelector(map, defaultType: .any)
        let condition = conditionValue(map)
        var patterns: [BytePattern] = []
        if let patternsNode = map["patterns"] {
            if case .sequence(let list) = patternsNode, !list.isEmpty {
                for entry in list {
                    guard let text = entry.scalar?.string else {
                        fail(entry, key: "patterns", "expected a hex string")
                        continue
                    }
                    do { patterns.append(try BytePattern(text)) } catch {
                        fail(entry, key: "patterns", "bad hex pattern: \(error)")
                    }
                }
            } else {
                fail(patternsNode, key: "patterns", "expected a non-empty list of hex strings")
            }
        }
        guard let files, let condition else { return nil }
        return ByteSignatureMatch(files: files, condition: condition, patterns: patterns)
    }

    private mutating func decodeELFFeature(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> ELFFeatureMatch? {
        checkKeys(map, allowed: allowed, required: [], at: node)
        let files = fileSelector(map, defaultType: .elf)
        let condition = conditionValue(map)
        let ifunc = bool(map, "ifunc-symbols") ?? false
        let irelative = bool(map, "irelative-relocations") ?? false
        let symbols = stringList(map, "symbols") ?? []
        if !ifunc && !irelative && symbols.isEmpty {
            fail(node, key: "match", "an elf-feature rule needs at least one of ifunc-symbols: true, irelative-relocations: true, symbols")
        }
        guard let files, let condition else { return nil }
        return ELFFeatureMatch(files: files, condition: condition, ifuncSymbols: ifunc,
                               irelativeRelocations: irelative, symbols: symbols)
    }

    private mutating func decodeIFUNCResolver(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> IFUNCResolverMatch? {
        checkKeys(map, allowed: allowed, required: [], at: node)
        let files = fileSelector(map, defaultType: .elf)
        let condition = conditionValue(map)
        let instructions = wholeNumber(map, "instructions-over")
        let writes = wholeNumber(map, "pointer-writes-over")
        let indirect = wholeNumber(map, "indirect-calls-over")
        let calls = map["calls-outside"] != nil ? stringList(map, "calls-outside") : nil
        let data = map["data-references"] != nil ? nonEmptyList(map, "data-references") : nil
        let systemCalls = bool(map, "system-calls") ?? false
        let bound = bool(map, "bound-reached") ?? false
        let exceptLoader = bool(map, "except-dynamic-linker") ?? false
        if instructions == nil && writes == nil && indirect == nil && calls == nil && data == nil && !systemCalls && !bound {
            fail(node, key: "match", "an ifunc-resolver rule needs at least one of instructions-over, calls-outside, data-references, pointer-writes-over, indirect-calls-over, system-calls: true, bound-reached: true")
        }
        guard let files, let condition else { return nil }
        return IFUNCResolverMatch(files: files, condition: condition, instructionsOver: instructions, callsOutside: calls,
                                  dataReferences: data, pointerWritesOver: writes, indirectCallsOver: indirect, systemCalls: systemCalls,
                                  boundReached: bound, exceptDynamicLinker: exceptLoader)
    }

    /// A non-negative whole number.
    private mutating func wholeNumber(_ map: Node.Mapping, _ key: String) -> Int? {
        guard let node = map[key] else { return nil }
        guard let text = node.scalar?.string, let value = Int(text), value >= 0 else {
            fail(node, key: key, "expected a whole number of 0 or more, such as 2000")
            return nil
        }
        return value
    }

    private mutating func decodeDependencyChain(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> DependencyChainMatch? {
        checkKeys(map, allowed: allowed, required: ["binary", "library"], at: node)
        let binary = string(map, "binary")
        if let binary, binary.contains("/") {
            fail(map["binary"]!, key: "binary", "give the program's file name (e.g. sshd), not a path: it is looked up in package lists, standard directories and running processes")
        }
        let library = string(map, "library")
        let through = string(map, "through")
        let escalate = map["escalate-to"] != nil ? severityValue(map, "escalate-to") : nil
        guard let binary, let library else { return nil }
        return DependencyChainMatch(binary: binary, library: library, through: through, escalateTo: escalate)
    }

    private mutating func decodeGOTIntegrity(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> GOTIntegrityMatch? {
        checkKeys(map, allowed: allowed, required: ["programs"], at: node)
        let programs = nonEmptyList(map, "programs")
        var symbols: [String]?
        if map["symbols"] != nil {
            guard let list = nonEmptyList(map, "symbols") else { return nil }
            symbols = list
        }
        guard let programs else { return nil }
        return GOTIntegrityMatch(programs: programs, symbols: symbols)
    }

    private mutating func decodeLoaderInjection(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> LoaderInjectionMatch? {
        checkKeys(map, allowed: allowed, required: [], at: node)
        let programs = map["programs"] != nil ? nonEmptyList(map, "programs") : []
        let preload = bool(map, "preload-file") ?? false
        let environment = map["environment"] != nil ? nonEmptyList(map, "environment") : []
        let audit = bool(map, "audit-entries") ?? false
        let memory = bool(map, "code-outside-files") ?? false
        if !preload && environment?.isEmpty != false && !audit && !memory {
            fail(node, key: "match", "a loader-injection rule needs at least one of preload-file, environment, audit-entries, code-outside-files")
        }
        if (environment?.isEmpty == false || audit || memory) && programs?.isEmpty != false {
            fail(node, key: "programs", "environment, audit-entries and code-outside-files apply to programs: list them (\"*\" for all)")
        }
        guard let programs, let environment else { return nil }
        return LoaderInjectionMatch(programs: programs, preloadFile: preload, environment: environment,
                                    auditEntries: audit, codeOutsideFiles: memory)
    }

    private mutating func decodeProvenance(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> ProvenanceMatch? {
        checkKeys(map, allowed: allowed, required: [], at: node)
        let programs = map["programs"] != nil ? nonEmptyList(map, "programs") : []
        for program in programs ?? [] where program.contains("/") || program.contains(where: { "*?[".contains($0) }) {
            fail(map["programs"]!, key: "programs", "'\(program)': give program file names (e.g. sshd), not paths or globs: each is looked up in package lists, standard directories and running processes")
        }
        var processes: ProvenanceMatch.Processes?
        if let text = string(map, "processes") {
            processes = ProvenanceMatch.Processes(rawValue: text)
            if processes == nil {
                fail(map["processes"]!, key: "processes", "'\(text)' must be one of \(ProvenanceMatch.Processes.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        let atRest = bool(map, "library-directories") ?? false
        var files: [String]?
        if map["files"] != nil { files = globs(map, "files") }
        let condition = conditionValue(map)
        var unowned = false
        if let owner = string(map, "owner") {
            if owner == "none" { unowned = true } else { fail(map["owner"]!, key: "owner", "'\(owner)': the only value is none (no package owns the file)") }
        }
        let integrity = enumList(map, "integrity", Provenance.Integrity.self)
        let places = enumList(map, "location", Provenance.Place.self)
        let writable = bool(map, "writable-by-non-root") ?? false
        let deleted = bool(map, "deleted") ?? false
        if programs?.isEmpty != false && map["processes"] == nil && !atRest {
            fail(node, key: "match", "a provenance rule needs programs, processes (root or all) or library-directories: true to say which files it looks at")
        }
        // Keys given but invalid were reported already: only a rule with none of them lacks a condition.
        if !["owner", "integrity", "location", "writable-by-non-root", "deleted"].contains(where: { map[$0] != nil }) {
            fail(node, key: "match", "a provenance rule needs at least one of owner: none, integrity, location, writable-by-non-root: true, deleted: true")
        }
        guard let programs, let condition, let integrity, let places else { return nil }
        if map["files"] != nil && files == nil { return nil }
        return ProvenanceMatch(programs: programs, processes: processes, libraryDirectories: atRest, files: files,
                               condition: condition, unowned: unowned, integrity: integrity, places: places,
                               writableByNonRoot: writable, deleted: deleted)
    }

    private mutating func decodePackageAge(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> PackageAgeMatch? {
        checkKeys(map, allowed: allowed, required: ["minimum-days"], at: node)
        var days: Int?
        if let daysNode = map["minimum-days"] {
            if let text = daysNode.scalar?.string, let value = Int(text), (1...PackageAgeMatch.maximumDays).contains(value) {
                days = value
            } else {
                fail(daysNode, key: "minimum-days", "'\(daysNode.scalar?.string ?? "")' must be a whole number of days from 1 to \(PackageAgeMatch.maximumDays), such as 60")
            }
        }
        var ecosystem: PackageEcosystem?
        if let text = string(map, "ecosystem") {
            ecosystem = PackageEcosystem(rawValue: text)
            if ecosystem == nil {
                fail(map["ecosystem"]!, key: "ecosystem",
                     "unknown ecosystem '\(text)'; expected one of \(PackageEcosystem.allCases.map(\.rawValue).joined(separator: ", ")), or no ecosystem key for all")
                return nil
            }
        } else if map["ecosystem"] != nil {
            return nil
        }
        var packages: [String]?
        if map["packages"] != nil {
            guard let globs = globs(map, "packages") else { return nil }
            packages = globs
        }
        var unknown = PackageAgeMatch.UnknownDates.note
        if let text = string(map, "unknown-dates") {
            guard let value = PackageAgeMatch.UnknownDates(rawValue: text) else {
                fail(map["unknown-dates"]!, key: "unknown-dates", "'\(text)' must be one of \(PackageAgeMatch.UnknownDates.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            unknown = value
        } else if map["unknown-dates"] != nil {
            return nil
        }
        guard let days else { return nil }
        return PackageAgeMatch(minimumDays: days, ecosystem: ecosystem, packages: packages, unknownDates: unknown)
    }

    private mutating func decodeBaselineDrift(_ map: Node.Mapping, _ node: Node, allowed: [String]) -> BaselineDriftMatch? {
        checkKeys(map, allowed: allowed, required: ["drift"], at: node)
        guard let drift = enumValue(map, "drift", BaselineDriftMatch.Drift.self) else { return nil }
        var mappedBy = BaselineDriftMatch.MappedBy.any
        if map["mapped-by"] != nil {
            guard let value = enumValue(map, "mapped-by", BaselineDriftMatch.MappedBy.self) else { return nil }
            mappedBy = value
        }
        var programs: [String] = []
        if map["programs"] != nil {
            guard let list = nonEmptyList(map, "programs") else { return nil }
            programs = list
        }
        var inGraphOf: [String] = []
        if map["in-graph-of"] != nil {
            guard let list = nonEmptyList(map, "in-graph-of") else { return nil }
            inGraphOf = list
        }
        if drift != .unapprovedCode, let key = ["mapped-by", "programs", "in-graph-of"].first(where: { map[$0] != nil }) {
            fail(map[key]!, key: key, "'\(key)' applies only to 'drift: unapproved-code'")
            return nil
        }
        if !inGraphOf.isEmpty, let key = ["mapped-by", "programs"].first(where: { map[$0] != nil }) {
            fail(map[key]!, key: key, "'\(key)' is about mapped code; 'in-graph-of' is about code no process maps yet: give one or the other")
            return nil
        }
        return BaselineDriftMatch(drift: drift, mappedBy: mappedBy, programs: programs, inGraphOf: inGraphOf)
    }

    /// One of an enumeration's raw values; nil (after an error naming the allowed values) when absent or unknown.
    private mutating func enumValue<Value: RawRepresentable & CaseIterable>(_ map: Node.Mapping, _ key: String, _: Value.Type) -> Value? where Value.RawValue == String {
        guard let text = string(map, key) else { return nil }
        guard let value = Value(rawValue: text) else {
            fail(map[key]!, key: key, "'\(text)' must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// A list of an enumeration's raw values; [] when absent, nil (after an error naming the allowed values) when
    /// malformed.
    private mutating func enumList<Value: RawRepresentable & CaseIterable>(_ map: Node.Mapping, _ key: String, _: Value.Type) -> [Value]? where Value.RawValue == String {
        guard map[key] != nil else { return [] }
        guard let texts = nonEmptyList(map, key) else { return nil }
        var values: [Value] = []
        for text in texts {
            guard let value = Value(rawValue: text) else {
                fail(map[key]!, key: key, "'\(text)' must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            values.append(value)
        }
        return values
    }

    /// `files:` (optional globs on the file's names) and `file-type:` (any or elf) of a file rule.
    private mutating func fileSelector(_ map: Node.Mapping, defaultType: FileSelector.FileType) -> FileSelector? {
        var names: [String]?
        if map["files"] != nil {
            guard let globs = globs(map, "files") else { return nil }
            names = globs
        }
        var type = defaultType
        if let text = string(map, "file-type") {
            guard let value = FileSelector.FileType(rawValue: text) else {
                fail(map["file-type"]!, key: "file-type", "'\(text)' must be one of \(FileSelector.FileType.allCases.map(\.rawValue).joined(separator: ", "))")
                return nil
            }
            type = value
        } else if map["file-type"] != nil {
            return nil
        }
        return FileSelector(names: names, type: type)
    }

    private mutating func decodeRanges(_ node: Node) -> [VersionRange] {
        guard case .sequence(let list) = node else {
            fail(node, key: "ranges", "expected a list of {introduced, fixed | last-affected}")
            return []
        }
        var ranges: [VersionRange] = []
        for entry in list {
            guard let item = mapping(entry, key: "ranges") else { continue }
            checkKeys(item, allowed: ["introduced", "fixed", "last-affected"], required: ["introduced"], at: entry)
            let range = VersionRange(introduced: string(item, "introduced"), fixed: string(item, "fixed"),
                                     lastAffected: string(item, "last-affected"))
            if (range.fixed == nil) == (range.lastAffected == nil) {
                fail(entry, key: "ranges", "give exactly one of 'fixed' (first good version) or 'last-affected' (last bad version)")
            }
            ranges.append(range)
        }
        return ranges
    }
}
