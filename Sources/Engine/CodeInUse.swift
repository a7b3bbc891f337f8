import Probes

/// Which of one target's packages ship code, and whether anything in the target runs it (issue 24, "what nothing
/// uses"): a package is in use when a process of the target maps one of its files, or a program graph the scan
/// walked in the target reaches one. Not a finding: a list for whoever removes unused software, and the SBOM's
/// `chainwatch:code-in-use` property.
public struct CodeInUse: Sendable, Codable {
    /// What "in use" could be decided from.
    public enum Basis: String, Sendable, Codable {
        /// Every readable process's mappings and the walked program graphs: "unused" means nothing running maps
        /// the package's code, and no walked graph reaches it.
        case processesAndGraphs = "processes-and-graphs"
        /// Program graphs only (an offline root or an image runs nothing; processes not read): "unused" means only
        /// that no walked graph reaches it.
        case graphsOnly = "graphs-only"
        /// Nothing can be said (no file lists, a root not read, a scan stopped early): no package is called unused.
        case unknown
    }

    public var basis: Basis
    /// Why the basis is what it is, and what the lists may miss (processes whose mappings were not read, packages
    /// whose code paths were over the bound, unread databases).
    public var notes: [String]
    public var inUse: [InstalledPackage]
    public var unused: [InstalledPackage]
    /// Packages whose files named like code are none of them ELF (scripts in bin: what runs them is an interpreter
    /// of another package) or absent: not judged.
    public var notJudged: Int

    public init(basis: Basis, notes: [String] = [], inUse: [InstalledPackage] = [], unused: [InstalledPackage] = [], notJudged: Int = 0) {
        self.basis = basis
        self.notes = notes
        self.inUse = inUse
        self.unused = unused
        self.notJudged = notJudged
    }

    /// Packages shipping code, as far as the scan could tell: those in use and those unused.
    public var shippingCode: Int { inUse.count + unused.count }
}
