/// Which packages ship code, by the names of the files they list: the first half of "what nothing uses" (issue 24).
/// A path is code by its name when it is a shared object (`*.so`, `*.so.N...`) or lies directly in a `bin`, `sbin`
/// or `libexec` directory. A name is a guess: the scan that judges use checks each such file is ELF before calling
/// its package's code unused, and an ELF file elsewhere (`/usr/lib/openssh/sftp-server`) makes its package count
/// only when something runs it.
extension PackageInventory {
    /// Code paths kept over all packages, at most: a Debian host lists ~3,500 among ~120k paths (~130 KB); a root
    /// listing more than this is not a real system, and the packages over it are said to be cut, not unused.
    public static let maximumCodePaths = 200_000

    /// One package's files that are code by their name, where the root has them (diversions applied).
    public struct CodeFiles: Sendable {
        /// Index into `packages`.
        public var package: Int
        /// Shared objects first (nearly always ELF, and mostly read by the scan), then what lies in bin directories.
        public var paths: [String]
        /// Some of its code paths were not kept (over `maximumCodePaths`).
        public var cut: Bool
    }

    /// Every package listing code by name, in database order.
    public var codeFiles: [CodeFiles] {
        codePaths.keys.sorted().map { index in
            let listed = codePaths[index]!
            return CodeFiles(package: Int(index), paths: (listed.libraries + listed.programs).map { installedPath(listed: $0, package: index) },
                             cut: codePathsCut.contains(index))
        }
    }

    mutating func keepIfCode(_ path: ArraySlice<UInt8>, package: Int32) {
        guard let kind = CodePath.kind(of: path) else { return }
        guard codePathCount < Self.maximumCodePaths else {
            codePathsCut.insert(package)
            return
        }
        let text = String(decoding: path, as: UTF8.self)
        switch kind {
        case .sharedObject: codePaths[package, default: CodePathList()].libraries.append(text)
        case .inProgramDirectory: codePaths[package, default: CodePathList()].programs.append(text)
        }
        codePathCount += 1
    }
}

/// One package's code paths as listed, by kind.
struct CodePathList: Sendable {
    var libraries: [String] = []
    var programs: [String] = []
}

/// Whether a listed path names code: the test behind `PackageInventory.codeFiles`, on the bytes of a file list.
enum CodePath {
    private static let so = Array(".so".utf8)
    private static let directories = ["bin", "sbin", "libexec"].map { Array($0.utf8) }

    enum Kind { case sharedObject, inProgramDirectory }

    static func isCode(_ path: ArraySlice<UInt8>) -> Bool { kind(of: path) != nil }

    static func kind(of path: ArraySlice<UInt8>) -> Kind? {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")), slash + 1 < path.endIndex else { return nil }
        if isSharedObject(path[(slash + 1)...]) { return .sharedObject }
        let directory = path[..<slash]
        let parent = directory[((directory.lastIndex(of: UInt8(ascii: "/")) ?? directory.startIndex - 1) + 1)...]
        return directories.contains { parent.elementsEqual($0) } ? .inProgramDirectory : nil
    }

    /// `libfoo.so`, `libfoo.so.1`, `libfoo.so.1.2.3`; not `libfoo.so.6.0.30-gdb.py`, `foo.so.` nor `foo.sort`.
    static func isSharedObject(_ name: ArraySlice<UInt8>) -> Bool {
        // A version after ".so" is dots and digits, beginning with a dot and a digit.
        var start = name.endIndex
        while start > name.startIndex, isDigitOrDot(name[start - 1]) { start -= 1 }
        guard start < name.endIndex else { return hasSOSuffix(name) }
        guard name[start] == UInt8(ascii: "."), start + 1 < name.endIndex, name[start + 1] != UInt8(ascii: ".") else { return false }
        return hasSOSuffix(name[..<start])
    }

    private static func isDigitOrDot(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    private static func hasSOSuffix(_ name: ArraySlice<UInt8>) -> Bool {
        name.count > so.count && name.suffix(so.count).elementsEqual(so)
    }
}
