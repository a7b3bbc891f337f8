import HostIO

/// The overlayfs layers under a container's root, from the root mount's options in its own mountinfo: a file the
/// container sees is one file of one layer, and the layers an image's containers share are the same files on the
/// host. Reading that file once serves every container of the image; the writable layer is each container's own.
///
/// Never trusted for what a file is, only for where to find it: a layer file is used only when it is the file the
/// container sees (the same inode, and the size, as overlayfs reports a lower file's real inode number when all
/// layers are on one filesystem), so a hostile mount option or a symlink in a layer leads nowhere else.
public struct OverlayLayers: Sendable, Hashable {
    /// Host directories, top first: the writable layer, then each lower layer.
    public var directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    /// The most layers considered (the kernel allows 500; images rarely have 100).
    static let maximumLayers = 512

    /// The layers of the mount at "/" in `mountinfo` (`/proc/PID/mountinfo` of a process of the container); nil
    /// when its root is not an overlay (or the options do not name layers as absolute paths the host can reach).
    public static func read(mountinfo path: String) -> OverlayLayers? {
        guard let bytes = try? FileSystem.readKernelFile(path, limit: 64 << 20) else { return nil }
        return parse(bytes)
    }

    /// The layers of the overlay mount with superblock `device` in `table` (the scanner's own mount table: the
    /// runtime mounted the container's root on the host); nil when the table has no such overlay.
    public static func find(device: UInt64, in table: MountTable) -> OverlayLayers? {
        guard let mount = table.mounts.last(where: { $0.device == device && $0.type == "overlay" }), let options = mount.superOptions else { return nil }
        return layers(fromOptions: options)
    }

    public static func parse(_ bytes: [UInt8]) -> OverlayLayers? {
        var found: OverlayLayers?
        ByteSearch.forEachLine(in: bytes) { range in
            let fields = bytes[range].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
            guard fields.count >= 10, let dash = fields.firstIndex(where: { $0.elementsEqual([UInt8(ascii: "-")]) }),
                  dash >= 6, dash + 3 < fields.count,
                  fields[4].elementsEqual([UInt8(ascii: "/")]),
                  fields[dash + 1].elementsEqual(Array("overlay".utf8)) else { return }
            var examined = 0
            let options = MemoryMapParser.unescape(fields[dash + 3], examined: &examined)
            // A later mount over "/" wins, as it does in the table.
            found = layers(fromOptions: options) ?? found
        }
        return found
    }

    /// `lowerdir=A:B,upperdir=U,workdir=W,...` (a `\` escapes `,` and `:` inside a path).
    static func layers(fromOptions options: String) -> OverlayLayers? {
        var upper: String?
        var lower: [String] = []
        // Options split on unescaped commas (escapes kept for the paths), then each path list on unescaped colons.
        for option in split(options, on: ",", keepingEscapes: true) {
            if option.hasPrefix("upperdir=") { upper = split(String(option.dropFirst("upperdir=".count)), on: ":").first }
            if option.hasPrefix("lowerdir=") { lower = split(String(option.dropFirst("lowerdir=".count)), on: ":") }
        }
        // containers/storage names lower layers relative to its overlay directory when the options would be too
        // long ("l/SHORTID"); that directory is the upper layer's grandparent.
        let base = upper.map { path in
            var parts = path.split(separator: "/", omittingEmptySubsequences: true)
            parts.removeLast(min(2, parts.count))
            return "/" + parts.joined(separator: "/")
        }
        var directories = upper.map { [$0] } ?? []
        for layer in lower.prefix(maximumLayers) {
            if layer.hasPrefix("/") { directories.append(layer) } else if let base { directories.append(base + "/" + layer) }
        }
        directories = directories.filter { $0.hasPrefix("/") && !$0.split(separator: "/").contains("..") }
        return directories.isEmpty ? nil : OverlayLayers(directories: directories)
    }

    private static func split(_ text: String, on separator: Character, keepingEscapes: Bool = false) -> [String] {
        var parts: [String] = [], current = "", escaped = false
        for character in text {
            if escaped { current.append(character); escaped = false; continue }
            if character == "\\" {
                escaped = true
                if keepingEscapes { current.append(character) }
                continue
            }
            if character == separator { parts.append(current); current = ""; continue }
            current.append(character)
        }
        parts.append(current)
        return parts.filter { !$0.isEmpty }
    }

    /// The host path and stat of the layer file the container sees at `path` (canonical, inside its root), given
    /// the container's stat of it; nil when no layer holds that very file.
    public func file(at path: String, seen status: FileStatus) -> (hostPath: String, status: FileStatus)? {
        guard status.isRegular, path.hasPrefix("/") else { return nil }
        for directory in directories {
            let candidate = directory + path
            guard let found = try? FileSystem.linkStatus(candidate) else { continue }
            // The topmost layer holding the path is the one seen: any other answer means the layers are not what
            // the options say (another filesystem, xino numbers), and the container's own view is read instead.
            guard found.isRegular, found.identity.inode == status.identity.inode, found.size == status.size else { return nil }
            return (candidate, found)
        }
        return nil
    }
}
