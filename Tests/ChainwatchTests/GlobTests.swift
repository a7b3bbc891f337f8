import Glibc
import HostIO
import Testing

/// GlobSet's fast paths (literal, literal prefix + `*`) must agree with fnmatch(3) on every pattern shape.
@Suite struct GlobTests {
    @Test func fastPathsAgreeWithFnmatch() {
        let patterns = ["liblzma.so*", "liblzma.so.5", "*", "", "lib*.so", "liblzma.so.5.6.[01]", "?iblzma*", "a\\*", "lib\\zma*",
                        "libsystemd.so.0*", ".*", "é*", "sshd", "*.sh", "*", "*.so*", "liblzma_la-crc64?fast.o", "*a"]
        let names = ["liblzma.so", "liblzma.so.5", "liblzma.so.5.6.1", "liblzma.so.5.6.2", "libsystemd.so.0.35.0", "", "a*",
                     "lib zma", "libzma", "sshd", ".hidden", "éa", "e\u{301}a", "liblzma", "xliblzma.so", "build.sh", ".sh", "sh", "liblzma_la-crc64_fast.o", "liblzma_la-crc64-fast.o", "a"]
        for pattern in patterns {
            for name in names {
                #expect(GlobSet([pattern]).matches(name) == (fnmatch(pattern, name, 0) == 0), "set \(pattern) vs \(name)")
            }
        }
        let set = GlobSet(patterns)
        for name in names {
            #expect(set.matches(name) == patterns.contains { fnmatch($0, name, 0) == 0 }, "all patterns vs \(name)")
        }
    }
}
