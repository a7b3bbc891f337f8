/// The last component of a path ("/usr/lib/liblzma.so.5" -> "liblzma.so.5"; trailing slashes ignored; "/" stays "/").
public func baseName(_ path: String) -> String {
    var trimmed = path[...]
    while trimmed.utf8.count > 1, trimmed.utf8.last == UInt8(ascii: "/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.utf8.lastIndex(of: UInt8(ascii: "/")) else { return String(trimmed) }
    let name = trimmed[trimmed.utf8.index(after: slash)...]
    return name.isEmpty ? path : String(name)
}
