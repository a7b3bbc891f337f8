import Foundation
import Testing
import HostIO
@testable import Probes

@Suite(.serialized) struct DependencyGraphTests {
    static func walk(_ program: String, root: ConfinedRoot) throws -> DependencyGraph {
        let resolver = LibraryResolver(root: root)
        let inspector = FileInspector()
        return try DependencyGraph.walk(program: program, resolver: resolver) { path in
            try inspector.loaderFacts(of: try OpenFile(path: root.hostPath(path)))
        }
    }

    /// The ELF walk of the real sshd finds the same files as ldd (which the test may run; the scanner never does).
    @Test func realSshdMatchesLdd() throws {
        try #require(FileManager.default.fileExists(atPath: "/usr/sbin/sshd"), "openssh-server is installed by scripts/setup.sh")
        let ldd = try Support.run("/usr/bin/ldd", ["/usr/sbin/sshd"])
        try #require(ldd.status == 0)
        var expected: Set<String> = []
        for line in ldd.stdout.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let path = words.firstIndex(of: "=>").map { words.index(after: $0) }.flatMap { $0 < words.endIndex ? String(words[$0]) : nil }
                ?? words.first.map(String.init)
            guard let path, path.hasPrefix("/") else { continue }   // linux-vdso.so.1 has no file
            expected.insert(URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
        }
        let graph = try Self.walk("/usr/sbin/sshd", root: .host)
        let found = Set(graph.nodes.dropFirst().map { URL(fileURLWithPath: $0.path).resolvingSymlinksInPath().path })
        #expect(found == expected)
        #expect(graph.missing.isEmpty)
        let lzma = try #require(graph.nodes.first { $0.name == "liblzma.so.5" })
        #expect(lzma.chain == ["/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"])
    }

    @Test(arguments: [
        [], ["--split-usr"], ["--runpath"], ["--rpath"], ["--absolute-symlinks"], ["--ld-cache"],
        ["--absolute-symlinks", "--split-usr", "--ld-cache"],
    ])
    func fixtureChainResolvesInsideTheRoot(_ options: [String]) throws {
        let directory = try Support.makeRoot(options)
        defer { Support.remove(directory + "/..") }
        let root = ConfinedRoot(directory)
        let graph = try Self.walk("/usr/sbin/sshd", root: root)
        let lzma = try #require(graph.nodes.first { $0.name == "liblzma.so.5" }, "\(graph.nodes.map(\.path)) missing \(graph.missing)")
        #expect(lzma.path.hasSuffix("/liblzma.so.5.6.1"), "resolved \(lzma.path), not the root's fixture")
        #expect(lzma.chain == ["/usr/sbin/sshd", "libsystemd.so.0", "liblzma.so.5"])
        let status = try FileSystem.linkStatus(root.hostPath(lzma.path))
        #expect(status.identity == lzma.identity)
        if options.contains("--runpath") || options.contains("--rpath") {
            #expect(graph.nodes.contains { $0.path.contains("chainwatch-private") })
        }
        // libc is not in the fixture root: it is missing, never taken from the host.
        #expect(graph.missing.contains { $0.name == "libc.so.6" })
    }

    /// glibc 2.33+ loads DIR/glibc-hwcaps/x86-64-vN/NAME before DIR/NAME: a backdoored liblzma planted there is
    /// the one sshd gets, with or without an ld.so.cache that lists it, and the at-rest scan reads it too.
    @Test(arguments: [false, true])
    func libraryPlantedInGlibcHwcapsWins(_ withCache: Bool) throws {
        let directory = try Support.makeRoot(["--version", "5.4.1-1"])
        defer { Support.remove(directory + "/..") }
        let planted = try Support.makeRoot(["--version", "5.4.1-1", "--signature"])
        defer { Support.remove(planted + "/..") }
        let hwcaps = directory + "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2"
        try FileManager.default.createDirectory(atPath: hwcaps, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: planted + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", toPath: hwcaps + "/liblzma.so.5")
        if withCache {
            // The host's ldconfig (trusted) writes the cache the way a real system would after the plant.
            let ldconfig = try Support.run("/sbin/ldconfig", ["-X", "-r", directory])
            try #require(ldconfig.status == 0, "\(ldconfig.stderr)")
        }
        let graph = try Self.walk("/usr/sbin/sshd", root: ConfinedRoot(directory))
        let lzma = try #require(graph.nodes.first { $0.name == "liblzma.so.5" })
        #expect(lzma.path == "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v2/liblzma.so.5")

        let (_, document) = try Support.scanJSON(["--rules", Support.rulesDirectory, "--root", directory])
        let signatures = Support.findings(document).filter { $0["kind"] as? String == "byte-signature" }
        #expect(signatures.contains { ($0["evidence"] as? [String: Any])?["path"] as? String == lzma.path }, "\(signatures)")
    }

    /// A CPU without AVX-512 never loads from x86-64-v4: the resolver, and its reading of ld.so.cache, skip it.
    @Test func hwcapsLevelFollowsTheCPU() throws {
        let v2: Set = ["cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"]
        let v3 = v2.union(["avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"])
        let v4 = v3.union(["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])
        #expect(LibraryResolver.x86Level(flags: ["sse2"]) == 1)
        #expect(LibraryResolver.x86Level(flags: v2) == 2 && LibraryResolver.x86Level(flags: v3) == 3)
        #expect(LibraryResolver.x86Level(flags: v4) == 4)
        let x86 = ELFClassAndMachine(is64Bit: true, machine: 62)
        #expect(LibraryResolver.hwcapsSubdirectories(for: x86, x86Level: 3) == ["glibc-hwcaps/x86-64-v3", "glibc-hwcaps/x86-64-v2"])

        let directory = try Support.makeRoot(["--version", "5.4.1-1"])
        defer { Support.remove(directory + "/..") }
        let v4Directory = directory + "/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v4"
        try FileManager.default.createDirectory(atPath: v4Directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: directory + "/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1", toPath: v4Directory + "/liblzma.so.5")
        try #require(try Support.run("/sbin/ldconfig", ["-X", "-r", directory]).status == 0)
        let cache = try LoaderCache.parse(try OpenFile(path: directory + "/etc/ld.so.cache").readAll(limit: 1 << 20))
        let all = LibraryResolver.hwcapsSubdirectories(for: x86, x86Level: nil)
        #expect(cache.lookup("liblzma.so.5", fileClass: x86, hwcaps: all)?.contains("/glibc-hwcaps/x86-64-v4/") == true)
        let level3 = LibraryResolver.hwcapsSubdirectories(for: x86, x86Level: 3)
        #expect(cache.lookup("liblzma.so.5", fileClass: x86, hwcaps: level3)?.contains("glibc-hwcaps") == false)
    }

    @Test func loaderCacheOfFixtureParses() throws {
        let directory = try Support.makeRoot(["--ld-cache"])
        defer { Support.remove(directory + "/..") }
        let bytes = try OpenFile(path: directory + "/etc/ld.so.cache").readAll(limit: 1 << 20)
        let cache = try LoaderCache.parse(bytes)
        #expect(cache.lookup("liblzma.so.5", fileClass: ELFClassAndMachine(is64Bit: true, machine: 62)) != nil)
        #expect(cache.lookup("liblzma.so.5", fileClass: ELFClassAndMachine(is64Bit: false, machine: 3)) == nil)
        #expect(throws: LoaderCache.ParseError.self) { try LoaderCache.parse(Array(bytes.prefix(60))) }
        #expect(throws: LoaderCache.ParseError.self) { try LoaderCache.parse(Array("garbage".utf8)) }
    }

    @Test func hostLoaderCacheParses() throws {
        let cache = try LoaderCache.parse(try OpenFile(path: "/etc/ld.so.cache").readAll(limit: 64 << 20))
        #expect(cache.lookup("libc.so.6", fileClass: ELFClassAndMachine(is64Bit: true, machine: 62)) != nil)
    }

    @Test func ldSoConfIncludesAndLoops() throws {
        let directory = try Support.temporaryDirectory("conf")
        defer { Support.remove(directory) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/etc/ld.so.conf.d", withIntermediateDirectories: true)
        try "include /etc/ld.so.conf.d/*.conf\n/opt/first # comment\n".write(toFile: directory + "/etc/ld.so.conf", atomically: true, encoding: .utf8)
        try "/opt/a\ninclude /etc/ld.so.conf\n".write(toFile: directory + "/etc/ld.so.conf.d/a.conf", atomically: true, encoding: .utf8)
        try "/opt/b:/opt/c\n".write(toFile: directory + "/etc/ld.so.conf.d/b.conf", atomically: true, encoding: .utf8)
        let configuration = LoaderConfiguration.read(root: ConfinedRoot(directory))
        #expect(configuration.directories == ["/opt/a", "/opt/b", "/opt/c", "/opt/first"])
        #expect(configuration.problems.contains { $0.contains("loop") })
    }

    @Test func symlinksNeverLeaveTheRoot() throws {
        let directory = try Support.temporaryDirectory("confine")
        defer { Support.remove(directory) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/lib", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: directory + "/lib/abs.so", withDestinationPath: "/etc/hostname")
        try fm.createSymbolicLink(atPath: directory + "/lib/dots.so", withDestinationPath: "../../../../../../../etc/hostname")
        try fm.createSymbolicLink(atPath: directory + "/lib/loop.so", withDestinationPath: "loop.so")
        let root = ConfinedRoot(directory)
        // /etc/hostname exists on the host; inside the root it does not.
        #expect(throws: SystemError.self) { try root.resolve("/lib/abs.so") }
        #expect(throws: SystemError.self) { try root.resolve("/lib/dots.so") }
        #expect((try? root.resolve("/lib/loop.so")) == nil)
        try "inside".write(toFile: directory + "/hostname-inside", atomically: true, encoding: .utf8)
        try fm.createDirectory(atPath: directory + "/etc", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: directory + "/etc/hostname", withDestinationPath: "/hostname-inside")
        #expect(try root.resolve("/lib/abs.so") == "/hostname-inside")
        #expect(try root.readText("/lib/dots.so") == "inside")
    }
}
