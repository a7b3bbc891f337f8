import Probes

/// Version comparison per package ecosystem, so rule ranges mean what the distribution means.
public enum VersionOrdering {
    /// Negative, zero or positive as `a` sorts before, equal to or after `b` in `ecosystem`'s ordering.
    public static func compare(_ a: String, _ b: String, ecosystem: PackageEcosystem) -> Int {
        switch ecosystem {
        case .debian: return DebianVersion.compare(a, b)
        // pacman's vercmp and apk's order agree with rpm's on the version forms in use.
        case .rpm, .alpine, .arch: return RPMVersion.compare(a, b)
        }
    }

    /// [epoch:]version[-revision]: both orderings split the same way (the revision follows the last '-').
    static func split(_ text: String) -> (epoch: Int, version: Substring, revision: Substring) {
        var rest = Substring(text)
        var epoch = 0
        if let colon = rest.firstIndex(of: ":"), let value = Int(rest[..<colon]) {
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        guard let dash = rest.lastIndex(of: "-") else { return (epoch, rest, "") }
        return (epoch, rest[..<dash], rest[rest.index(after: dash)...])
    }
}

/// Debian's version ordering (deb-version(7)): [epoch:]upstream[-revision], where `~` sorts before everything,
/// even the end of the string, and letters sort before other characters.
public enum DebianVersion {
    public static func compare(_ a: String, _ b: String) -> Int {
        let (epochA, upstreamA, revisionA) = split(a)
        let (epochB, upstreamB, revisionB) = split(b)
        if epochA != epochB { return epochA < epochB ? -1 : 1 }
        let upstream = compareFragment(upstreamA, upstreamB)
        if upstream != 0 { return upstream }
        return compareFragment(revisionA, revisionB)
    }

    static func split(_ version: String) -> (Int, [UInt8], [UInt8]) {
        let (epoch, upstream, revision) = VersionOrdering.split(version)
        return (epoch, Array(upstream.utf8), Array(revision.utf8))
    }

    private static func order(_ c: UInt8?) -> Int {
        guard let c else { return 0 }
        if c == UInt8(ascii: "~") { return -1 }
        if (c >= 65 && c <= 90) || (c >= 97 && c <= 122) { return Int(c) }
        return Int(c) + 256
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }

    static func compareFragment(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0, j = 0
        while i < a.count || j < b.count {
            // Non-digit prefix, character by character.
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ca = i < a.count && !isDigit(a[i]) ? order(a[i]) : order(nil)
                let cb = j < b.count && !isDigit(b[j]) ? order(b[j]) : order(nil)
                if ca != cb { return ca < cb ? -1 : 1 }
                if i < a.count && !isDigit(a[i]) { i += 1 }
                if j < b.count && !isDigit(b[j]) { j += 1 }
            }
            // Numeric part, by value (leading zeros ignored).
            while i < a.count && a[i] == 48 { i += 1 }
            while j < b.count && b[j] == 48 { j += 1 }
            var startI = i, startJ = j
            while i < a.count && isDigit(a[i]) { i += 1 }
            while j < b.count && isDigit(b[j]) { j += 1 }
            let lengthA = i - startI, lengthB = j - startJ
            if lengthA != lengthB { return lengthA < lengthB ? -1 : 1 }
            while startI < i {
                if a[startI] != b[startJ] { return a[startI] < b[startJ] ? -1 : 1 }
                startI += 1
                startJ += 1
            }
        }
        return 0
    }
}

/// rpm's ordering (rpmvercmp): [epoch:]version[-release]; alphanumeric segments, numbers above letters, `~` lowest.
public enum RPMVersion {
    public static func compare(_ a: String, _ b: String) -> Int {
        let (epochA, versionA, releaseA) = split(a)
        let (epochB, versionB, releaseB) = split(b)
        if epochA != epochB { return epochA < epochB ? -1 : 1 }
        let version = compareSegments(versionA, versionB)
        if version != 0 || releaseA.isEmpty || releaseB.isEmpty { return version }
        return compareSegments(releaseA, releaseB)
    }

    static func split(_ value: String) -> (Int, String, String) {
        let (epoch, version, release) = VersionOrdering.split(value)
        return (epoch, String(version), String(release))
    }

    static func compareSegments(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        var i = 0, j = 0
        func isAlnum(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        while i < x.count || j < y.count {
            while i < x.count && !isAlnum(x[i]) && x[i] != 126 && x[i] != 94 { i += 1 }
            while j < y.count && !isAlnum(y[j]) && y[j] != 126 && y[j] != 94 { j += 1 }
            // Tilde sorts before anything; caret after the end but before anything else.
            let tildeA = i < x.count && x[i] == 126, tildeB = j < y.count && y[j] == 126
            if tildeA || tildeB {
                if !(tildeA && tildeB) { return tildeA ? -1 : 1 }
                i += 1; j += 1
                continue
            }
            let caretA = i < x.count && x[i] == 94, caretB = j < y.count && y[j] == 94
            if caretA || caretB {
                if i >= x.count { return -1 }
                if j >= y.count { return 1 }
                if !(caretA && caretB) { return caretA ? -1 : 1 }
                i += 1; j += 1
                continue
            }
            if i >= x.count || j >= y.count { break }
            let numeric = isDigit(x[i])
            var endI = i, endJ = j
            if numeric {
                while endI < x.count && isDigit(x[endI]) { endI += 1 }
                while endJ < y.count && isDigit(y[endJ]) { endJ += 1 }
            } else {
                while endI < x.count && isAlnum(x[endI]) && !isDigit(x[endI]) { endI += 1 }
                while endJ < y.count && isAlnum(y[endJ]) && !isDigit(y[endJ]) { endJ += 1 }
            }
            if endJ == j { return numeric ? 1 : -1 }   // segments of different types: numeric is newer
            var segA = Array(x[i..<endI]), segB = Array(y[j..<endJ])
            if numeric {
                while segA.first == 48 && segA.count > 1 { segA.removeFirst() }
                while segB.first == 48 && segB.count > 1 { segB.removeFirst() }
                if segA.count != segB.count { return segA.count < segB.count ? -1 : 1 }
            }
            if segA != segB { return segA.lexicographicallyPrecedes(segB) ? -1 : 1 }
            i = endI
            j = endJ
        }
        if i >= x.count && j >= y.count { return 0 }
        return i >= x.count ? -1 : 1
    }
}
