import Rules

/// The compiled rules of one kind: built once per rule load from the rules of that kind, then matched against
/// the facts of every scan. Adding a rule kind means a model and decoder entry in Rules, one of these, and one
/// line in `ScanPlan`.
protocol RuleKindMatcher: Sendable {
    associatedtype Match
    /// The kind-specific part of `rule`, if the rule is of this kind.
    static func match(of rule: Rule) -> Match?
    init(_ rules: [(Rule, Match)])
    /// Findings for these facts; `earlier` holds the findings of the matchers that ran before.
    func findings(_ facts: ScanFacts, earlier: [Finding]) -> [Finding]
}

extension RuleKindMatcher {
    init(from rules: [Rule]) {
        self.init(rules.compactMap { rule in Self.match(of: rule).map { (rule, $0) } })
    }
}
