import HostIO

/// A rule's `programs:` compiled: globs on a running executable's base name, or on its whole path when the glob
/// has a `/`; `*` is every program.
struct ProgramSelector: Sendable {
    let names: GlobSet
    let paths: [String]

    init(_ programs: [String]) {
        names = GlobSet(programs.filter { !$0.contains("/") })
        paths = programs.filter { $0.contains("/") }
    }

    func selects(_ executable: String) -> Bool {
        let path = ScanPlan.trimmingDeleted(executable)
        return names.matches(baseName(path)) || paths.contains { Glob.matches($0, path) }
    }
}
