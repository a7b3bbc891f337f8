/// Drift from an approved baseline (`--baseline FILE`, the daemon's `baseline =`): what changed since the state a
/// baseline SBOM approved. Without a baseline these rules find nothing. See docs/baselines.md.
public struct BaselineDriftMatch: Sendable, Hashable {
    public enum Drift: String, Sendable, Hashable, CaseIterable {
        /// A mapped executable or library (or memfd) whose SHA-256 the baseline does not approve. Anonymous
        /// executable memory has no hash to approve: loader-injection and YARA memory rules judge it.
        case unapprovedCode = "unapproved-code"
        /// A package installed that the baseline does not list.
        case packageAdded = "package-added"
        /// A package the baseline lists that is no longer installed.
        case packageRemoved = "package-removed"
        /// A package installed at another version than the baseline approved.
        case packageVersionChanged = "package-version-changed"
        /// A code file of a package whose content changed while the package's version did not.
        case packageFileChanged = "package-file-changed"
        /// A container the baseline has no approved state for.
        case containerNotInBaseline = "container-not-in-baseline"
    }

    /// Whose mapping of unapproved code a rule is about.
    public enum MappedBy: String, Sendable, Hashable, CaseIterable {
        /// A root process, or a process of one of `programs` (sshd).
        case privileged
        /// Only processes that are neither.
        case unprivileged
        /// Any process.
        case any
    }

    public var drift: Drift
    /// For `unapproved-code`.
    public var mappedBy: MappedBy
    /// Programs whose processes count as privileged whatever their user (sshd drops privileges per session).
    public var programs: [String]
    /// For `unapproved-code`: instead of mapped code, code these programs' walked graphs reach that no process maps
    /// yet (what their next start loads; on an offline root or image, all there is).
    public var inGraphOf: [String]

    public init(drift: Drift, mappedBy: MappedBy = .any, programs: [String] = [], inGraphOf: [String] = []) {
        self.drift = drift
        self.mappedBy = mappedBy
        self.programs = programs
        self.inGraphOf = inGraphOf
    }
}
