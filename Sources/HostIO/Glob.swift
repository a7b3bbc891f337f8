#if canImport(Glibc)
import Glibc
#endif

/// Shell-style name matching (fnmatch(3) without flags): `*`, `?` and `[...]` on one file name.
public enum Glob {
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }
}
