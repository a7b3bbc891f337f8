/// A rule from a YARA file (`*.yar`, `*.yara`), compiled with libyara into the rule set's `yara` rules.
public struct YARARuleMatch: Sendable, Hashable {
    /// The YARA rule's own name and namespace (chainwatch gives each file its own namespace: its file name).
    public var name: String
    public var namespace: String
    /// Its index in the compiled set: what a scan's matches name.
    public var index: Int
    /// Whether it applies to files and to process memory: both, unless its `scan_context` meta names only one.
    public var appliesToFiles: Bool
    public var appliesToMemory: Bool
    /// `meta.author`, kept with every finding (the Detection Rule License asks for it).
    public var author: String?

    public init(name: String, namespace: String, index: Int, appliesToFiles: Bool = true, appliesToMemory: Bool = true,
                author: String? = nil) {
        self.name = name
        self.namespace = namespace
        self.index = index
        self.appliesToFiles = appliesToFiles
        self.appliesToMemory = appliesToMemory
        self.author = author
    }
}
