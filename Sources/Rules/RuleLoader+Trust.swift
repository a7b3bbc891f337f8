import HostIO

/// Whoever can write a rule can silence detection. A scanner running as root therefore reads rules only from a
/// path that no other user can change: every directory on the way root's and not writable by group or others (a
/// root-owned sticky directory such as /tmp is accepted above the rules: no other user can rename or remove what
/// root put in it), every symlink on the way root's, and each rule file root's and not writable by others.
extension RuleLoader {
    /// Why a rule file, or a rules directory (or another file whose writer decides what the scan concludes: a
    /// baseline, a signing key), is not to be trusted by its own status, or nil.
    public static func trustProblem(_ status: FileStatus, because consequence: String = "anyone who can change rules can hide findings") -> String? {
        guard effectiveUserID() == 0 else { return nil }
        if status.owner != 0 {
            return "owned by uid \(status.owner), not root: \(consequence); chown root it"
        }
        if status.isWritableByGroupOrOthers {
            return "writable by group or others (mode \(String(status.permissions, radix: 8))): \(consequence); chmod go-w it"
        }
        return nil
    }

    /// Why the way to `path` (a rules directory or file) is not to be trusted, or nil: walks it from / one component
    /// at a time, following symlinks itself, and checks each directory passed and each symlink followed. Nil too
    /// when part of the path does not exist or cannot be looked at: loading reports that with its own error.
    public static func pathTrustProblem(_ path: String) -> String? {
        guard effectiveUserID() == 0 else { return nil }
        var start = path
        if !path.hasPrefix("/") {
            guard let cwd = try? FileSystem.readLink("/proc/self/cwd") else { return nil }
            start = cwd + "/" + path
        }
        var pending = components(start)
        var resolved: [String] = []
        var followed = 0
        if let problem = directoryProblem("/", isRules: pending.isEmpty) { return problem }
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == "." { continue }
            if name == ".." {
                _ = resolved.popLast()
                continue
            }
            let current = "/" + (resolved + [name]).joined(separator: "/")
            guard let status = try? FileSystem.linkStatus(current) else { return nil }
            if status.kind == .symlink {
                guard status.owner == 0 else {
                    return "reached through the symlink \(current), which uid \(status.owner) owns: whoever owns it can point "
                        + "it at rules of their own and hide findings; use a root-owned path (chown -h root \(current))"
                }
                followed += 1
                guard followed <= 40, let target = try? FileSystem.readLink(current) else { return nil }
                if target.hasPrefix("/") { resolved = [] }
                pending = components(target) + pending
                continue
            }
            resolved.append(name)
            guard status.kind == .directory else { continue }   // the rule file itself: checked when it is read
            if let problem = directoryProblem(current, status, isRules: pending.isEmpty) { return problem }
        }
        return nil
    }

    private static func directoryProblem(_ path: String, isRules: Bool) -> String? {
        guard let status = try? FileSystem.linkStatus(path) else { return nil }
        return directoryProblem(path, status, isRules: isRules)
    }

    /// A directory on the way: root's and not writable by group or others; above the rules directory, a root-owned
    /// sticky directory may be writable by others.
    private static func directoryProblem(_ path: String, _ status: FileStatus, isRules: Bool) -> String? {
        let mode = String(status.permissions, radix: 8)
        let role = isRules ? "the rules directory \(path)" : "\(path), a directory above the rules,"
        if status.owner != 0 {
            return "\(role) is owned by uid \(status.owner), not root: whoever owns it can swap in rules of their own and hide "
                + "findings; chown root \(path) (every directory on the way to rules must be root's)"
        }
        let sticky = status.permissions & 0o1000 != 0
        if status.isWritableByGroupOrOthers && (isRules || !sticky) {
            return "\(role) is writable by group or others (mode \(mode)): anyone who can write it can swap in rules of their "
                + "own and hide findings; chmod go-w \(path) (every directory on the way to rules must be writable by root only)"
        }
        return nil
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }
}
