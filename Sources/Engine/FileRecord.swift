import HostIO
import Probes

/// One distinct file the scan saw, however many ways it was seen, and what was learned by reading it.
public struct FileRecord: Sendable {
    /// How to open exactly this file again.
    enum Opener: Sendable {
        case root(ConfinedRoot, String)
        /// For each process mapping it: /proc/PID/map_files/START-END, then /proc/PID/root/PATH when map_files is
        /// not permitted.
        case mapped([MappedFile.Way])
        /// An archive member, read while its archive was: never opened again.
        case member
    }

    var opener: Opener
    /// Other ways to the same file, tried in order when `opener` finds it gone: the path it lies at (a library
    /// first seen in a short-lived process's mapping is still read at rest), accepted only when its identity is
    /// this record's.
    var alternatives: [Opener] = []
    /// Device and inode when first seen (the facts' identity is the file actually read).
    let identity: FileIdentity
    /// The root the file was found in (the host, an image, a container process's root) and its path there.
    public var root: ConfinedRoot
    public var path: String
    /// Every name it goes by: base names of its paths, the DT_NEEDED names it was reached by, its SONAME.
    /// File rules match on these, and all of them are known before any rule is matched.
    public var names: [String] = []
    public var seenAs: [String] = []
    public var pids: [Int32] = []
    public var chains: [[String]] = []
    /// What reading it learned. Kept on the heap (as `provenance` is): a record inline is then ~150 bytes, not
    /// ~650, which is most of a scan's memory at 20,000 files.
    public var facts: FileFacts? {
        get { factsStorage?.value }
        set { factsStorage = newValue.map(Boxed.init) }
    }
    private var factsStorage: Boxed<FileFacts>?
    /// Indices into the plan's byte patterns of those found in the file; nil until its bytes were matched.
    var patternHits: PatternHits?
    /// What the plan's YARA rules found in its bytes (or why they did not run); nil without YARA rules.
    var yara: YARAOutcome?
    /// For an archive member: the file, each enclosing archive member, then the member itself.
    public var archive: [String]?
    /// What is at `path` in `root` now, when this scan's read (or cache lookup) stat'ed it there: saves the
    /// provenance phase a second stat per file.
    var pathStatus: FileStatus?
    /// Its package, integrity and place, once the scan assessed them.
    public var provenance: Provenance? {
        get { provenanceStorage?.value }
        set { provenanceStorage = newValue.map(Boxed.init) }
    }
    private var provenanceStorage: Boxed<Provenance>?

    init(opener: Opener, identity: FileIdentity, root: ConfinedRoot, path: String) {
        self.opener = opener
        self.identity = identity
        self.root = root
        self.path = path
    }

    /// The path a report shows.
    public var displayPath: String { root.displayPath(path) }

    /// Every way to the file, the first one first.
    var openers: [Opener] { [opener] + alternatives }

    mutating func addAlternative(_ alternative: Opener) {
        if case .root(let root, let path) = alternative, !alternatives.contains(where: {
            if case .root(let r, let p) = $0 { return r == root && p == path } else { return false }
        }) {
            alternatives.append(alternative)
        }
    }

    mutating func addName(_ name: String) {
        if !name.isEmpty && !names.contains(name) { names.append(name) }
    }

    mutating func addSeen(_ how: String) {
        if !seenAs.contains(how) { seenAs.append(how) }
    }

    /// Takes what a read learned, including the SONAME, which is one more name the file goes by.
    mutating func take(_ facts: FileFacts, hits: PatternHits, yara: YARAOutcome? = nil) {
        take(Boxed(facts), hits: hits, yara: yara)
    }

    /// The box holding its facts, for another root's record of the same file.
    var sharedFacts: Boxed<FileFacts>? { factsStorage }

    /// The same, sharing the box the read put its facts in (no second copy of them while results are collected).
    mutating func take(_ facts: Boxed<FileFacts>, hits: PatternHits, yara: YARAOutcome? = nil) {
        factsStorage = facts
        patternHits = hits
        self.yara = yara
        if let soname = facts.value.elf?.soname { addName(soname) }
    }
}

/// An immutable value on the heap: a setter replaces the box, so copies of a record never share a change.
final class Boxed<Value: Sendable>: Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
