import CYara

/// A value of a YARA rule's `meta:` section.
public enum YARAMetaValue: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case boolean(Bool)

    /// The value as text (integers in decimal), as a report shows it.
    public var text: String {
        switch self {
        case .string(let value): return value
        case .integer(let value): return String(value)
        case .boolean(let value): return value ? "true" : "false"
        }
    }
}

/// One rule of a compiled set, as libyara describes it: enough to turn it into a chainwatch rule.
public struct YARARuleInfo: Sendable, Hashable {
    /// Position in the compiled set's rule table: what a scan's matches name.
    public var index: Int
    public var name: String
    /// The namespace the rule was compiled in (chainwatch gives each rule file its own).
    public var namespace: String
    public var tags: [String]
    /// `meta:` entries in the order written (a key may repeat, as `hash` often does).
    public var metas: [(key: String, value: YARAMetaValue)]
    /// Private rules only serve other rules' conditions; libyara never reports them.
    public var isPrivate: Bool

    /// The first value of meta `key`, or nil.
    public func meta(_ key: String) -> YARAMetaValue? { metas.first { $0.key == key }?.value }

    public static func == (a: YARARuleInfo, b: YARARuleInfo) -> Bool {
        a.index == b.index && a.name == b.name && a.namespace == b.namespace && a.tags == b.tags
            && a.metas.map(\.key) == b.metas.map(\.key) && a.metas.map(\.value) == b.metas.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(index)
        hasher.combine(name)
        hasher.combine(namespace)
    }
}

/// A compiled YARA rule set (yr_compiler_get_rules), scanned from any number of threads.
///
/// `@unchecked Sendable`: libyara documents a YR_RULES as usable by several threads at once as long as each scan
/// has its own YR_SCANNER (each `scan` creates one); the pointer is never changed after init, and freed in deinit.
public final class YARARules: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<YR_RULES>
    /// Every rule of the set, by table index.
    public let rules: [YARARuleInfo]
    /// The external variables the set was compiled with, each defined (to "") for every scan.
    public let variables: [String]
    /// The files it was compiled from, with their text: what a cache of scan results is keyed by.
    public let sources: [YARASource]

    init(_ pointer: UnsafeMutablePointer<YR_RULES>, variables: [String], sources: [YARASource]) {
        self.pointer = pointer
        self.variables = variables
        self.sources = sources
        rules = Self.describe(pointer)
    }

    deinit { yr_rules_destroy(pointer) }

    private static func describe(_ table: UnsafePointer<YR_RULES>) -> [YARARuleInfo] {
        var rules: [YARARuleInfo] = []
        guard var rule = cw_yr_rules_first(table) else { return [] }
        while cw_yr_rule_is_null(rule) == 0 {
            var tags: [String] = []
            if var tag = cw_yr_rule_tags(rule) {
                while tag.pointee != 0 {
                    let text = String(cString: tag)
                    tags.append(text)
                    tag += text.utf8.count + 1
                }
            }
            var metas: [(String, YARAMetaValue)] = []
            var meta = cw_yr_rule_first_meta(rule)
            while let current = meta {
                let key = String(cString: cw_yr_meta_identifier(current))
                switch current.pointee.type {
                case Int32(cw_yr_meta_type_integer): metas.append((key, .integer(current.pointee.integer)))
                case Int32(cw_yr_meta_type_boolean): metas.append((key, .boolean(current.pointee.integer != 0)))
                default: metas.append((key, .string(cw_yr_meta_string(current).map { String(cString: $0) } ?? "")))
                }
                meta = cw_yr_meta_next(current)
            }
            rules.append(YARARuleInfo(index: rules.count, name: String(cString: cw_yr_rule_identifier(rule)),
                                      namespace: String(cString: cw_yr_rule_namespace(rule)), tags: tags,
                                      metas: metas.map { (key: $0.0, value: $0.1) }, isPrivate: cw_yr_rule_is_private(rule) != 0))
            rule += 1
        }
        return rules
    }
}
