import HostIO

extension DpkgDatabase {
    /// When dpkg last wrote the package's info/NAME[:ARCH].list (its install or last upgrade), seconds since the
    /// epoch; nil when neither exists.
    public static func listWritten(of package: InstalledPackage, root: ConfinedRoot) -> Int64? {
        for candidate in listNames(of: package) {
            if let (_, status) = try? root.status(infoDirectory + "/" + candidate), status.isRegular {
                return status.modified / 1_000_000_000
            }
        }
        return nil
    }
}
