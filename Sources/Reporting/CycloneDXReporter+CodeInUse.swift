import Engine
import Probes

extension CycloneDXReporter {
    /// A target's "what nothing uses" as properties: `chainwatch:code-in-use` true or false on each package that
    /// ships code (absent on the others, and on every package when nothing could be said), and the basis with its
    /// notes on the target's own component (the subject, or the container).
    struct CodeUseProperties {
        private let inUse: Set<InstalledPackage>
        private let unused: Set<InstalledPackage>

        init(_ use: CodeInUse?) {
            let known = use.map { $0.basis != .unknown } ?? false
            inUse = known ? Set(use!.inUse) : []
            unused = known ? Set(use!.unused) : []
        }

        func properties(of package: InstalledPackage) -> [(String, String)] {
            if inUse.contains(package) { return [("chainwatch:code-in-use", "true")] }
            return unused.contains(package) ? [("chainwatch:code-in-use", "false")] : []
        }

        static func target(_ use: CodeInUse?) -> [(String, String)] {
            guard let use else { return [] }
            return [("chainwatch:code-in-use:basis", use.basis.rawValue)] + use.notes.map { ("chainwatch:code-in-use:note", $0) }
        }
    }
}
