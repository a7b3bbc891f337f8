import ELFReader
import HostIO

/// Finds the file the dynamic loader would map for a DT_NEEDED name, the way glibc's ld.so searches,
/// confined to one root and without running anything.
///
/// Order (glibc elf/dl-load.c, _dl_map_object): a name with a slash is a path; DT_RPATH of the requesting object
/// and then of each object that loaded it (unless the requester has DT_RUNPATH); DT_RUNPATH of the requester;
/// /etc/ld.so.cache; the default directories. In each directory glibc 2.33+ first tries the glibc-hwcaps
/// subdirectories the CPU supports (x86-64-v4, -v3, -v2 ...), so a library planted there wins over the one beside
/// it. LD_LIBRARY_PATH is not used: it is a process's environment.
public struct LibraryResolver: Sendable {
    public let root: ConfinedRoot
    public let cache: LoaderCache?
    public let configuration: LoaderConfiguration
    public var problems: [String] = []
    /// The x86-64 microarchitecture level of this CPU (from /proc/cpuinfo) when scanning the host; nil for an
    /// offline root, whose CPU is unknown: then every glibc-hwcaps level counts.
    public let x86Level: Int?

    public init(root: ConfinedRoot) {
        self.root = root
        x86Level = root.isHost ? Self.hostLevel : nil
        configuration = LoaderConfiguration.read(root: root)
        problems = configuration.problems
        do {
            let (_, file) = try root.open("/etc/ld.so.cache")
            cache = try LoaderCache.parse(file.readAll(limit: 64 << 20))
        } catch let error as FileReadError where error.isNotFound {
            cache = nil
        } catch {
            cache = nil
            problems.append("/etc/ld.so.cache: \(error); using ld.so.conf and default directories")
        }
    }

    /// The default directories for an object of this class and machine (Debian multiarch first, then lib64/lib).
    public static func defaultDirectories(for kind: ELFClassAndMachine) -> [String] {
        let triplet: String?
        switch (kind.machine, kind.is64Bit) {
        case (62, true): triplet = "x86_64-linux-gnu"
        case (62, false): triplet = "x86_64-linux-gnux32"
        case (3, _): triplet = "i386-linux-gnu"
        case (183, _): triplet = "aarch64-linux-gnu"
        case (40, _): triplet = "arm-linux-gnueabihf"
        case (21, _): triplet = "powerpc64le-linux-gnu"
        case (22, _): triplet = "s390x-linux-gnu"
        case (243, _): triplet = "riscv64-linux-gnu"
        default: triplet = nil
        }
        var directories: [String] = []
        if let triplet { directories += ["/lib/\(triplet)", "/usr/lib/\(triplet)"] }
        directories += kind.is64Bit ? ["/lib64", "/usr/lib64", "/lib", "/usr/lib"] : ["/lib32", "/usr/lib32", "/lib", "/usr/lib"]
        return directories
    }

    /// Every directory a library may be loaded from in this root, glibc-hwcaps subdirectories of every level
    /// included whatever this CPU supports: for scanning libraries at rest.
    public func searchDirectories(for kind: ELFClassAndMachine) -> [String] {
        var result: [String] = []
        for base in configuration.directories + Self.defaultDirectories(for: kind) {
            for directory in Self.hwcapsSubdirectories(for: kind, x86Level: nil).map({ base + "/" + $0 }) + [base]
            where !result.contains(directory) {
                result.append(directory)
            }
        }
        return result
    }

    /// glibc-hwcaps subdirectories (glibc 2.33+) ld.so tries in each search directory before the directory itself,
    /// most capable first; `x86Level` limits x86-64 to what the CPU runs (nil: all).
    public static func hwcapsSubdirectories(for kind: ELFClassAndMachine, x86Level: Int?) -> [String] {
        let names: [String]
        switch (kind.machine, kind.is64Bit) {
        case (62, true): names = [4, 3, 2].filter { $0 <= (x86Level ?? 4) }.map { "x86-64-v\($0)" }
        case (21, true): names = ["power10", "power9"]
        case (22, true): names = ["z16", "z15", "z14", "z13"]
        default: names = []
        }
        return names.map { "glibc-hwcaps/" + $0 }
    }

    /// This CPU's level, read once per process: the daemon resolves libraries every scan, the CPU never changes.
    private static let hostLevel = hostX86Level()

    /// The x86-64 psABI level (1-4) the flags in /proc/cpuinfo reach; nil when they cannot be read.
    static func hostX86Level() -> Int? {
        guard let bytes = try? FileSystem.readKernelFile("/proc/cpuinfo", limit: 16 << 20) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        return x86Level(flags: Set(line.split(separator: " ").map(String.init)))
    }

    static func x86Level(flags: Set<String>) -> Int {
        let v2: Set = ["cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"]
        let v3: Set = ["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
        let v4: Set = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
        guard v2.isSubset(of: flags) else { return 1 }
        guard v3.isSubset(of: flags) else { return 2 }
        return v4.isSubset(of: flags) ? 4 : 3
    }

    /// The ordered candidate paths for `name` requested by the last object of `requesters` (loader chain,
    /// executable first), each with the ELF facts the loader looks at.
    public func candidates(for name: String, requesters: [(path: String, elf: ELFInfo)]) -> [String] {
        if name.contains("/") { return name.hasPrefix("/") ? [name] : [] }
        guard let requester = requesters.last else { return [] }
        let kind = ELFClassAndMachine(is64Bit: requester.elf.fileClass == .elf64, machine: requester.elf.machine)
        var directories: [String] = []
        if requester.elf.runpath == nil {
            for object in requesters.reversed() {
                if let rpath = object.elf.rpath { directories += expand(rpath, origin: object.path, kind: kind) }
            }
        } else if let runpath = requester.elf.runpath {
            directories += expand(runpath, origin: requester.path, kind: kind)
        }
        let hwcaps = Self.hwcapsSubdirectories(for: kind, x86Level: x86Level)
        let inDirectory = { (directory: String) in hwcaps.map { directory + "/" + $0 + "/" + name } + [directory + "/" + name] }
        var paths = directories.flatMap(inDirectory)
        if !requester.elf.ignoresDefaultLibraryPaths {
            if let cached = cache?.lookup(name, fileClass: kind, hwcaps: hwcaps) { paths.append(cached) }
            paths += Self.defaultDirectories(for: kind).flatMap(inDirectory)
        }
        return paths
    }

    /// Splits an RPATH/RUNPATH and expands $ORIGIN, $LIB and $PLATFORM (also in ${...} form).
    func expand(_ list: String, origin: String, kind: ELFClassAndMachine) -> [String] {
        let originDirectory = LoaderConfiguration.directory(of: origin)
        let libs = kind.is64Bit ? ["lib64", "lib/x86_64-linux-gnu"] : ["lib", "lib/i386-linux-gnu"]
        let platform = kind.machine == 62 ? (kind.is64Bit ? "x86_64" : "i686") : "unknown"
        var result: [String] = []
        for entry in list.split(separator: ":").map(String.init) where !entry.isEmpty {
            var variants = [entry.replacingToken("ORIGIN", with: originDirectory).replacingToken("PLATFORM", with: platform)]
            if variants[0].contains("$LIB") || variants[0].contains("${LIB}") {
                variants = libs.map { variants[0].replacingToken("LIB", with: $0) }
            }
            // Relative entries are relative to the process's working directory: not knowable offline, not followed.
            result += variants.filter { $0.hasPrefix("/") && !$0.contains("$") }
        }
        return result
    }
}

extension String {
    func replacingToken(_ token: String, with value: String) -> String {
        // One pass per form: a value that itself contains "$ORIGIN" (a directory so named) is not expanded again.
        replacing("${\(token)}", with: value).replacing("$\(token)", with: value)
    }
}
