import HostIO

/// Every package database chainwatch reads, as one probe: dpkg, rpm (sqlite), apk and pacman.
public enum PackageDatabases {
    /// The installed packages and file owners of `root`.
    public static func read(root: ConfinedRoot) -> PackageInventory {
        var inventory = PackageInventory()
        DpkgDatabase.read(root: root, into: &inventory)
        RPMDatabase.read(root: root, into: &inventory)
        AlpineDatabase.read(root: root, into: &inventory)
        PacmanDatabase.read(root: root, into: &inventory)
        return inventory
    }

    /// What changes whenever a package is installed, removed or upgraded: the `stat` of each database file and
    /// directory (dpkg replaces status and every info/*.list by rename, so the info directory's times move too).
    /// Equal stamps let the daemon reuse the inventory it parsed last time.
    public static func stamp(root: ConfinedRoot) -> [FileStatus?] {
        ([DpkgDatabase.statusPath, DpkgDatabase.infoDirectory, DpkgDatabase.diversionsPath, AlpineDatabase.path,
          PacmanDatabase.directory]
            + RPMDatabase.stampPaths)
            .map { try? root.status($0).status }
    }
}
