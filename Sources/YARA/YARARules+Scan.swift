import CYara

/// Where a string of a matching rule was found.
public struct YARAStringMatch: Sendable, Hashable {
    /// `$a1`, or `$` for an anonymous string.
    public var identifier: String
    /// Offset in the scanned bytes.
    public var offset: Int64
    public var length: Int
}

/// A rule that matched one scan's bytes.
public struct YARAMatch: Sendable, Hashable {
    /// The rule's index in `YARARules.rules`.
    public var rule: Int
    /// The first string matches, at most `YARARules.maximumStringMatches`.
    public var strings: [YARAStringMatch]
    /// Every string match, including those not kept.
    public var stringMatchCount: Int
}

extension YARARules {
    /// String matches kept per matching rule: enough to show why it matched, bounded however often a string occurs.
    public static let maximumStringMatches = 8

    /// Runs the rule set over `bytes` (yr_scanner_create, yr_scanner_set_timeout, yr_scanner_scan_mem).
    /// - Parameters:
    ///   - variables: values of the set's external variables for these bytes (unset ones stay "").
    ///   - timeout: seconds libyara may take (it checks the clock between steps); running out throws `.timeout`.
    public func scan(_ bytes: ArraySlice<UInt8>, variables: [String: String] = [:], timeout: Int) throws(YARAError) -> [YARAMatch] {
        var scanner: UnsafeMutablePointer<YR_SCANNER>?
        try YARALibrary.check(yr_scanner_create(pointer, &scanner), "yr_scanner_create")
        guard let scanner else { throw YARAError(code: .insufficientMemory, operation: "yr_scanner_create") }
        defer { yr_scanner_destroy(scanner) }
        for (name, value) in variables where self.variables.contains(name) {
            try YARALibrary.check(yr_scanner_define_string_variable(scanner, name, value), "yr_scanner_define_string_variable(\(name))")
        }
        yr_scanner_set_timeout(scanner, Int32(clamping: max(1, timeout)))
        let collector = MatchCollector(first: cw_yr_rules_first(pointer))
        let context = Unmanaged.passUnretained(collector).toOpaque()
        yr_scanner_set_callback(scanner, { scanContext, message, data, user in
            guard message == Int32(cw_yr_msg_rule_matching), let data, let user, let scanContext else {
                return Int32(cw_yr_callback_continue)
            }
            let collector = Unmanaged<MatchCollector>.fromOpaque(user).takeUnretainedValue()
            collector.add(data.assumingMemoryBound(to: YR_RULE.self), scanContext)
            return Int32(cw_yr_callback_continue)
        }, context)
        let result = bytes.withUnsafeBufferPointer { buffer in
            // An empty buffer has no base address; libyara scans zero bytes from any pointer.
            var empty: UInt8 = 0
            return withUnsafePointer(to: &empty) { fallback in
                yr_scanner_scan_mem(scanner, buffer.baseAddress ?? fallback, buffer.count)
            }
        }
        try YARALibrary.check(result, "yr_scanner_scan_mem")
        return collector.matches
    }

    /// What the scan callback collects: a class, since it is reached through a C `void *`.
    private final class MatchCollector {
        let first: UnsafePointer<YR_RULE>?
        var matches: [YARAMatch] = []

        init(first: UnsafePointer<YR_RULE>?) { self.first = first }

        func add(_ rule: UnsafePointer<YR_RULE>, _ context: UnsafeMutablePointer<YR_SCAN_CONTEXT>) {
            guard let first else { return }
            var strings: [YARAStringMatch] = []
            var count = 0
            var string = cw_yr_rule_first_string(rule)
            while let current = string {
                let identifier = String(cString: cw_yr_string_identifier(current))
                var match = cw_yr_string_first_match(context, current)
                while let found = match {
                    count += 1
                    if strings.count < YARARules.maximumStringMatches {
                        strings.append(YARAStringMatch(identifier: identifier, offset: found.pointee.base + found.pointee.offset,
                                                       length: Int(found.pointee.match_length)))
                    }
                    match = cw_yr_match_next(found)
                }
                string = cw_yr_string_next(current)
            }
            matches.append(YARAMatch(rule: rule - first, strings: strings, stringMatchCount: count))
        }
    }
}
