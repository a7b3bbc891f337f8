import Engine
import Probes

extension JSONReporter {
    /// A target's "what nothing uses": the basis, why, and the packages shipping code in use and unused.
    struct JSONCodeInUse: Encodable {
        var basis: String
        var notes: [String]
        /// Packages shipping code (in use and unused); absent when unknown.
        var shipCode: Int?
        var inUse: [Package]
        var unused: [Package]
        var notJudged: Int

        struct Package: Encodable {
            var name: String
            var version: String
            var architecture: String
            var ecosystem: String

            init(_ package: InstalledPackage) {
                name = package.name
                version = package.version
                architecture = package.architecture
                ecosystem = package.ecosystem.rawValue
            }
        }

        init(_ use: CodeInUse) {
            basis = use.basis.rawValue
            notes = use.notes
            shipCode = use.basis == .unknown ? nil : use.shippingCode
            inUse = use.inUse.map(Package.init)
            unused = use.unused.map(Package.init)
            notJudged = use.notJudged
        }
    }
}
