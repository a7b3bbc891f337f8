/// An OCI platform (`os/architecture[/variant]`, image-spec's `platform` object): which manifest of an image index
/// a runtime on this host would run, or the one `--platform` names.
public struct ImagePlatform: Sendable, Hashable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os.lowercased()
        let (normalized, implied) = Self.normalize(architecture: architecture.lowercased())
        self.architecture = normalized
        let given = variant.map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        self.variant = given ?? implied
    }

    /// `OS/ARCH[/VARIANT]` as `--platform` takes it (linux/amd64, linux/arm64/v8, linux/arm/v7); nil when it is not
    /// of that form. Architecture aliases are taken as their OCI names (x86_64 is amd64, aarch64 arm64).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isNameCharacter) }) else { return nil }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    /// The platform a runtime on this host pulls: linux and `uname -m` mapped to its OCI architecture name
    /// (containerd's platforms.DefaultSpec does the same).
    public static let host: ImagePlatform = {
        let machine = ImageSyscall.machine()
        return ImagePlatform(os: "linux", architecture: machine)
    }()

    /// `uname -m` names (and Debian's) to the GOARCH names image indexes use, with the variant a name implies.
    static func normalize(architecture: String) -> (architecture: String, variant: String?) {
        switch architecture {
        case "x86_64", "x86-64", "amd64": return ("amd64", nil)
        case "i386", "i486", "i586", "i686", "386": return ("386", nil)
        case "aarch64", "arm64", "armv8", "armv8b": return ("arm64", "v8")
        case "armv8l", "armv7l", "armv7", "armhf": return ("arm", "v7")
        case "armv6l", "armv6", "armel": return ("arm", "v6")
        case "armv5l", "armv5tel", "armv5tejl", "armv5": return ("arm", "v5")
        case "ppc64le", "powerpc64le": return ("ppc64le", nil)
        case "loongarch64": return ("loong64", nil)
        default: return (architecture, nil)
        }
    }

    /// `os/architecture[/variant]`, as the image states them: a value from the image, escaped where it is printed.
    public var description: String {
        "\(os)/\(architecture)" + (variant.map { "/" + $0 } ?? "")
    }

    /// Whether an image for `candidate` runs here, and how well: nil when it does not; lower is better (the exact
    /// variant before an older one a newer CPU still runs, a variant-less entry before any variant when no variant
    /// was asked for).
    func rank(_ candidate: ImagePlatform) -> Int? {
        guard candidate.os == os, candidate.architecture == architecture else { return nil }
        switch (variant, candidate.variant) {
        case (nil, nil): return 0
        case (nil, .some): return 1
        case (.some, nil): return 1
        case (.some(let wanted), .some(let offered)):
            if wanted == offered { return 0 }
            // arm/v7 runs v6 and v5 code (containerd's matcher accepts them, best first).
            if architecture == "arm", let want = Int(wanted.dropFirst()), let have = Int(offered.dropFirst()),
               wanted.hasPrefix("v"), offered.hasPrefix("v"), have < want {
                return 1 + want - have
            }
            return nil
        }
    }

    /// The platform an image document states (a descriptor's `platform`, a config's os/architecture/variant);
    /// nil when it states no os or architecture.
    static func stated(os: String?, architecture: String?, variant: String?) -> ImagePlatform? {
        guard let os, let architecture, !os.isEmpty, !architecture.isEmpty else { return nil }
        return ImagePlatform(os: os, architecture: architecture, variant: variant)
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber || "._+-".contains(character))
    }
}
