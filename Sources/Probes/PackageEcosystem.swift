/// A package system chainwatch reads. One type for both sides: a probe says which database a package came from, a
/// package-version rule says which packages it means, and the ecosystem picks the version ordering.
public enum PackageEcosystem: String, Sendable, Hashable, Codable, CaseIterable {
    case debian, rpm, alpine, arch
}
