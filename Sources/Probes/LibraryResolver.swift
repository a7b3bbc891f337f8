import ELFReader
import Foundation
import HostIO

/// Finds the file the dynamic loader would map for a DT_NEEDED name, the way glibc's ld.so searches,
/// confined to one root and without running anything.
///
/// Order (glibc elf/dl-load.c, _dl_map_object): a name with a slash is a path; DT_RPATH of the requesting object
/// and then of each object that loaded it (unless the requester has DT_RUNPATH); DT_RUNPATH of the requester;
/// /etc/ld.so.cache; the default directories. LD_LIBRARY_PATH is not used: it is a process's environment.
public struct LibraryResolver: Sendable {
    public let root: ConfinedRoot
    public let cache: LoaderCache?
    public let configuration: LoaderConfiguration
    public var problems: [String] = []

    public init(root: ConfinedRoot) {
        self.root = root
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

    /// Every directory a library may be loaded from in this root: for scanning libraries at rest.
    public func searchDirectories(for kind: ELFClassAndMachine) -> [String] {
        var result: [String] = []
        for directory in configuration.directories + Self.defaultDirectories(for: kind) where !result.contains(directory) {
            result.append(directory)
        }
        return result
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
        var paths = directories.map { $0 + "/" + name }
        if !requester.elf.ignoresDefaultLibraryPaths {
            if let cached = cache?.lookup(name, fileClass: kind) { paths.append(cached) }
            paths += Self.defaultDirectories(for: kind).map { $0 + "/" + name }
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
        var result = self
        for form in ["${\(token)}", "$\(token)"] {
            while let range = result.range(of: form) { result.replaceSubrange(range, with: value) }
        }
        return result
    }
}
