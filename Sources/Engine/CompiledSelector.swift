import HostIO
import Rules

/// A file rule's `files:` and `file-type:`, compiled once per rule load.
struct CompiledSelector: Sendable {
    /// Why a selector took a file: the name its glob matched, or nil when it takes every file of its type.
    struct Selected {
        var matchedName: String?
    }

    let globs: GlobSet?
    let type: FileSelector.FileType

    init(_ selector: FileSelector) {
        globs = selector.names.map(GlobSet.init)
        type = selector.type
    }

    /// Whether the rule applies to `file`, judged on all its names and its content type; nil when it does not.
    func select(_ file: FileRecord) -> Selected? {
        if type == .elf && file.facts?.isELF != true { return nil }
        guard let globs else { return Selected(matchedName: nil) }
        return file.names.first(where: globs.matches).map { Selected(matchedName: $0) }
    }

    /// Whether a file known by `names` is named by the globs (false for a selector without globs).
    func names(_ names: [String]) -> Bool {
        globs?.matchesAny(names) ?? false
    }
}
