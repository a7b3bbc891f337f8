import Probes

/// An approved state to drift from: a CycloneDX SBOM (chainwatch's own, from `--write-baseline`, or another tool's)
/// read into what the drift rules compare: per target, the packages with their approved versions and the code files
/// with their approved SHA-256s. Nothing is approved that the document does not name.
public struct Baseline: Sendable {
    /// Where it was read from, and the SHA-256 of its bytes (what a report names it by).
    public var file: String
    public var sha256: String
    /// The trusted key whose signature of it verified; nil when it carries none.
    public var signer: String?
    /// The tool that wrote it (`metadata.tools`) and when (`metadata.timestamp`), as the document says.
    public var writtenBy: String?
    public var timestamp: String?
    /// The host's (or offline root's, or image's) approved state: the document's top-level components.
    public var primary: BaselineSection
    /// Each container's, by `ScanTarget.stableKey`.
    public var containers: [String: BaselineSection]
    /// Every approved SHA-256 in the document, whatever target or path it was approved at: code whose bytes were
    /// approved anywhere is known code.
    public var approvedHashes: Set<String>
    /// What the document holds that drift does not compare (other ecosystems' packages, components without a purl
    /// or hash), in words for the report.
    public var ignored: [String]

    public init(file: String, sha256: String, primary: BaselineSection, containers: [String: BaselineSection] = [:],
                approvedHashes: Set<String>, ignored: [String] = []) {
        self.file = file
        self.sha256 = sha256
        self.primary = primary
        self.containers = containers
        self.approvedHashes = approvedHashes
        self.ignored = ignored
    }

    /// Whether it approves code by hash at all: a package-only SBOM (another tool's) does not, and then code is not
    /// judged against it.
    public var approvesCode: Bool { !approvedHashes.isEmpty }

    /// The approved state of a target: the primary one for the host, an offline root, an image or paths; a
    /// container's own; nil for a container the baseline does not know.
    public func section(for target: ScanTarget) -> BaselineSection? {
        target.kind == .container ? containers[target.stableKey] : primary
    }

    /// One line for the report: the file, its digest, who signed it and what it approves.
    public var summary: String {
        var text = "\(file) (sha256 \(sha256.prefix(16))…, "
        text += signer.map { "signed by \($0)" } ?? "unsigned"
        text += "): \(primary.packageCount) packages, \(primary.files.count) code files"
        if !containers.isEmpty { text += ", \(containers.count) container\(containers.count == 1 ? "" : "s")" }
        if let writtenBy { text += "; written by \(writtenBy)" }
        if let timestamp { text += " at \(timestamp)" }
        return text
    }
}

/// One target's approved state.
public struct BaselineSection: Sendable {
    /// Approved versions of each package; a package installed at several versions (rpm's kernels) has several.
    public var packages: [BaselinePackageKey: Set<String>] = [:]
    /// Approved SHA-256s of the code file at each path (two when a scan saw a replaced file beside its successor).
    public var files: [String: Set<String>] = [:]
    /// The package (and version) that owned each file when it was approved.
    public var owners: [String: BaselinePackage] = [:]

    public init() {}

    public var packageCount: Int { packages.values.reduce(0) { $0 + $1.count } }

    /// The approved versions of an installed package: by ecosystem, name and architecture, or by ecosystem and name
    /// when the document gave no architecture (another tool's purl without `arch=`).
    public func approvedVersions(of package: InstalledPackage) -> Set<String>? {
        let key = BaselinePackageKey(package)
        return packages[key] ?? packages[key.withoutArchitecture]
    }
}

/// What names "the same package" between a baseline and a scan.
public struct BaselinePackageKey: Sendable, Hashable, Comparable {
    public var ecosystem: PackageEcosystem
    public var name: String
    /// nil when the document did not say.
    public var architecture: String?

    public init(ecosystem: PackageEcosystem, name: String, architecture: String?) {
        self.ecosystem = ecosystem
        self.name = name
        self.architecture = architecture.flatMap { $0.isEmpty ? nil : $0 }
    }

    public init(_ package: InstalledPackage) {
        self.init(ecosystem: package.ecosystem, name: package.name, architecture: package.architecture)
    }

    var withoutArchitecture: BaselinePackageKey { BaselinePackageKey(ecosystem: ecosystem, name: name, architecture: nil) }

    public static func < (a: Self, b: Self) -> Bool {
        (a.ecosystem.rawValue, a.name, a.architecture ?? "") < (b.ecosystem.rawValue, b.name, b.architecture ?? "")
    }

    /// "liblzma5 (amd64)".
    public var display: String { name + (architecture.map { " (\($0))" } ?? "") }
}

/// A package as a baseline approved it.
public struct BaselinePackage: Sendable, Hashable {
    public var key: BaselinePackageKey
    public var version: String
}
