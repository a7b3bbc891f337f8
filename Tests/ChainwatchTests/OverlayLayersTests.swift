import Testing
import HostIO
@testable import Probes

/// Where a container's files lie on the host: the layers named by its root mount's options.
@Suite struct OverlayLayersTests {
    /// podman 4.3.1 with runc on this host (Debian 12), /proc/PID/mountinfo of a container process: an absolute
    /// lower layer through containers/storage's l/ link.
    static let podman = """
        507 436 0:167 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/containers/storage/overlay/l/VTANS4NLCYZ3E2T27CCOLHQ75E,upperdir=/var/lib/containers/storage/overlay/232743a1067b44779726109d780ea442f25aca44309eb96df7eee3010b2ffa41/diff,workdir=/var/lib/containers/storage/overlay/232743a1067b44779726109d780ea442f25aca44309eb96df7eee3010b2ffa41/work,uuid=on
        508 507 0:170 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
        """

    @Test func upperThenLowerLayersFromTheRootMount() throws {
        let layers = try #require(OverlayLayers.parse(Array(Self.podman.utf8)))
        #expect(layers.directories == [
            "/var/lib/containers/storage/overlay/232743a1067b44779726109d780ea442f25aca44309eb96df7eee3010b2ffa41/diff",
            "/var/lib/containers/storage/overlay/l/VTANS4NLCYZ3E2T27CCOLHQ75E",
        ])
    }

    /// containers/storage writes lower layers relative to its overlay directory when the options would be too long.
    @Test func relativeLowerLayersAreUnderTheUpperLayersGrandparent() throws {
        let layers = try #require(OverlayLayers.layers(fromOptions: "rw,lowerdir=l/A:l/B,upperdir=/s/overlay/X/diff,workdir=/s/overlay/X/work"))
        #expect(layers.directories == ["/s/overlay/X/diff", "/s/overlay/l/A", "/s/overlay/l/B"])
    }

    /// Escaped separators stay in the path; `..` in a layer path is refused; a root that is not an overlay has none.
    @Test func hostileOptions() throws {
        let escaped = try #require(OverlayLayers.layers(fromOptions: #"lowerdir=/a\:b:/c\,d,upperdir=/u"#))
        #expect(escaped.directories == ["/u", "/a:b", "/c,d"])
        #expect(OverlayLayers.layers(fromOptions: "lowerdir=/x/../../etc,upperdir=../u") == nil)
        #expect(OverlayLayers.parse(Array("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n".utf8)) == nil)
        let long = "1 0 0:1 / / rw - overlay overlay rw,lowerdir=" + String(repeating: "/l:", count: 20_000) + "\n"
        #expect(OverlayLayers.parse(Array(long.utf8))!.directories.count <= OverlayLayers.maximumLayers + 1)
    }

    /// A layer file is used only when it is the file the container sees (same inode and size).
    @Test func aLayerFileMustBeTheSameInode() throws {
        let layers = OverlayLayers(directories: ["/"])
        let real = try FileSystem.linkStatus("/etc/hostname")
        #expect(layers.file(at: "/etc/hostname", seen: real)?.hostPath == "//etc/hostname")
        let other = try FileSystem.linkStatus("/etc/passwd")
        #expect(layers.file(at: "/etc/hostname", seen: other) == nil)
    }
}
