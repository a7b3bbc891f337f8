import Probes

/// A package URL read back (github.com/package-url/purl-spec): `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH`,
/// each part percent-decoded.
struct PackageURLText {
    var type: String
    var name: String
    var rawVersion: String?
    var qualifiers: [String: String] = [:]

    init?(_ text: String) {
        guard text.hasPrefix("pkg:") else { return nil }
        var rest = Substring(text.dropFirst(4))
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, let key = Self.decode(parts[0]), let value = Self.decode(parts[1]) else { return nil }
                if !value.isEmpty { qualifiers[key.lowercased()] = value }   // the purl spec: an empty value is no qualifier
            }
            rest = rest[..<question]
        }
        while rest.hasPrefix("/") { rest = rest.dropFirst() }
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        type = rest[..<slash].lowercased()
        var remainder = rest[rest.index(after: slash)...]
        if let at = remainder.lastIndex(of: "@"), !remainder[remainder.index(after: at)...].contains("/") {
            guard let version = Self.decode(remainder[remainder.index(after: at)...]) else { return nil }
            rawVersion = version
            remainder = remainder[..<at]
        }
        guard let last = remainder.split(separator: "/").last, let name = Self.decode(last), !name.isEmpty, !type.isEmpty else { return nil }
        self.name = name
    }

    /// The package systems chainwatch reads, by purl type.
    var ecosystem: PackageEcosystem? {
        switch type {
        case "deb": .debian
        case "rpm": .rpm
        case "apk": .alpine
        case "alpm": .arch
        default: nil
        }
    }

    /// The version as the package's database writes it: an `epoch=` qualifier (rpm purls carry it so, and Trivy's
    /// deb purls too) goes back in front unless the version already has one.
    func version(fallback: String?) -> String? {
        guard let version = rawVersion ?? fallback, !version.isEmpty else { return nil }
        if let epoch = qualifiers["epoch"], epoch != "0", !version.contains(":") {
            return epoch + ":" + version
        }
        return version
    }

    private static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
