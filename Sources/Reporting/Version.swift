/// chainwatch's version: the one place it is written (packaging reads it from here).
public enum ChainwatchVersion {
    public static let current = "0.1.0"
}
