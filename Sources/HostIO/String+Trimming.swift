extension StringProtocol {
    /// The text without leading and trailing whitespace (spaces, tabs, CR, newlines): the one trim every parser of
    /// a text file here uses, without Foundation's CharacterSet.
    public func trimmingWhitespace() -> String {
        var slice = self[...]
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}
