import Engine

extension CycloneDXReporter {
    /// The scan as a baseline (`--write-baseline`): the same CycloneDX 1.6 document with only what an approval
    /// says. Each package with its purl and what its database records of it; each file with its SHA-256, where it
    /// is and its package; each container with its identity. Nothing that changes from one scan of an unchanged host
    /// to the next (pids, who maps what, what is in use, integrity verdicts, findings): re-approving an unchanged
    /// host writes the same components, so a diff of two baselines is what was approved. Also less to read back
    /// on every scan (a third of the SBOM's size on this host).
    public func renderBaseline(_ report: ScanReport) -> String {
        var bom = document(report)
        bom.components = bom.components.map(Self.approval)
        bom.metadata.component = Self.approval(bom.metadata.component)
        bom.dependencies = []
        bom.vulnerabilities = []
        return encode(bom)
    }

    /// Properties an approval keeps: a file's package, a package's database facts, a container's identity.
    static func keeps(_ property: Property) -> Bool {
        property.name == "chainwatch:package" || property.name.hasPrefix("chainwatch:package:")
            || property.name.hasPrefix("chainwatch:container:") || property.name.hasPrefix("chainwatch:os-release:")
            || property.name == "chainwatch:root"
    }

    static func approval(_ component: Component) -> Component {
        var component = component
        component.hashes = component.hashes.map { $0.filter { $0.alg == "SHA-256" } }
        component.properties = component.properties.map { $0.filter(keeps) }.flatMap { $0.isEmpty ? nil : $0 }
        component.components = component.components?.map(approval)
        return component
    }
}
