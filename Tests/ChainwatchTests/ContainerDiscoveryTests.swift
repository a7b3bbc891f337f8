import Foundation
import HostIO
import Testing
@testable import Probes

/// Issue 26: containers found from /proc/PID/cgroup and the runtimes' own state files, with no daemon or socket.
/// The cgroup texts and state files below were captured on this machine from real runtimes (see `CapturedCgroup`
/// and `CapturedState`) or, for what cannot run here (systemd's cgroup driver, CRI-O), copied from the public
/// report or source named beside each.
@Suite struct ContainerDiscoveryTests {
    // MARK: - cgroup paths captured here

    @Test func podmanContainerOnCgroupfsIsNamedByItsLibpodCgroup() {
        #expect(CgroupPath.container(in: CapturedCgroup.podmanContainer)
            == ContainerReference(runtime: .podman, id: "aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a"))
    }

    @Test func podmanPodContainersAreNamedByTheirOwnIdNotThePods() {
        #expect(CgroupPath.container(in: CapturedCgroup.podmanPodMember)
            == ContainerReference(runtime: .podman, id: "b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb"))
        #expect(CgroupPath.container(in: CapturedCgroup.podmanInfra)
            == ContainerReference(runtime: .podman, id: "a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f"))
    }

    @Test func conmonIsNotAContainerEvenInsideAPodsCgroup() {
        #expect(CgroupPath.container(in: CapturedCgroup.podmanConmon) == nil)
        // /libpod_parent/<pod id>/conmon: the pod's bare id is not taken for a container.
        #expect(CgroupPath.container(in: CapturedCgroup.podmanPodConmon) == nil)
    }

    @Test func dockerContainerOnCgroupfsIsNamedByItsDockerCgroup() {
        #expect(CgroupPath.container(in: CapturedCgroup.dockerContainer)
            == ContainerReference(runtime: .docker, id: "ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca"))
    }

    @Test func aShimAndTheHostAreNoContainer() {
        // The shim's memory cgroup is named by 32 hex digits: not an id.
        #expect(CgroupPath.container(in: CapturedCgroup.dockerShim) == nil)
        #expect(CgroupPath.container(in: "0::/\n") == nil)
        #expect(CgroupPath.container(in: "0::/init.scope\n") == nil)
    }

    @Test func ctrContainersAreNamedByNamespaceAndId() {
        #expect(CgroupPath.container(in: CapturedCgroup.ctrContainer)
            == ContainerReference(runtime: .containerd, id: "334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f"))
        // ctr accepts any name as an id: only 64 hex digits name a container here.
        #expect(CgroupPath.container(in: CapturedCgroup.ctrNamed) == nil)
    }

    @Test func kubernetesCgroupfsFormGivesTheContainerAndItsPod() {
        let uid = "5c0ffee0-1234-4abc-9def-0123456789ab"
        #expect(CgroupPath.container(in: CapturedCgroup.criContainer)
            == ContainerReference(runtime: .containerd, id: "54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14", podUID: uid))
        #expect(CgroupPath.container(in: CapturedCgroup.criSandbox)
            == ContainerReference(runtime: .containerd, id: "6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828", podUID: uid))
    }

    @Test func rootlessPodmanOnCgroupV1HasNoCgroupToNameIt() {
        // It is found as a mount namespace of its own (ContainerRuntime.unknown), not here.
        #expect(CgroupPath.container(in: CapturedCgroup.rootlessPodman) == nil)
    }

    // MARK: - cgroup paths from public reports (systemd's driver, CRI-O, nesting: not reproducible here)

    @Test func systemdDriverKubernetesForms() {
        // Docker under kubelet's systemd driver: the tree systemd-cgls shows in kontena/pharos-cluster#440, as the
        // name=systemd line of the process's /proc/PID/cgroup reads it.
        #expect(CgroupPath.container(in: "1:name=systemd:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9692aa0e_748e_11e8_8dfa_76d458035df6.slice/docker-abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152.scope\n")
            == ContainerReference(runtime: .docker, id: "abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152",
                                  podUID: "9692aa0e-748e-11e8-8dfa-76d458035df6"))
        // containerd with SystemdCgroup: a net_cls,net_prio tree from netdata/netdata#4868.
        #expect(CgroupPath.container(in: "3:net_cls,net_prio:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pode1465238_4518_4c21_832f_fd9f87033dad.slice/cri-containerd-66be9b2efdf4d85288c319b8c1a2f50d2439b5617e36f45d9d0d0be1381113be.scope\n")
            == ContainerReference(runtime: .containerd, id: "66be9b2efdf4d85288c319b8c1a2f50d2439b5617e36f45d9d0d0be1381113be",
                                  podUID: "e1465238-4518-4c21-832f-fd9f87033dad"))
        // kind's node nests kubelet's slices under kubelet.slice (containerd/nri#227, cgroup v2).
        #expect(CgroupPath.container(in: "0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e.scope\n")
            == ContainerReference(runtime: .containerd, id: "a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e",
                                  podUID: "1e597579-417e-482f-bf65-5fe170c3aebd"))
        // The systemd cgroupsPath `slice:prefix:id` created literally by a cgroupfs runtime (containerd/runwasi#821).
        #expect(CgroupPath.container(in: "0::/kubepods-besteffort-podb7c2cbdb_9ab5_47ef_977e_97e39a73da6d.slice:cri-containerd:66dda1e97c4fc48204b066f07fc1e28bab94a571820484e01576982d4cb9d32b\n")
            == ContainerReference(runtime: .containerd, id: "66dda1e97c4fc48204b066f07fc1e28bab94a571820484e01576982d4cb9d32b",
                                  podUID: "b7c2cbdb-9ab5-47ef-977e-97e39a73da6d"))
    }

    @Test func crioContainersAndItsMonitor() {
        // Lines of a calico-node container's /proc/21689/cgroup under CRI-O, cgroup v1 (opencontainers/runc#4620).
        let crio = """
            13:freezer:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope
            12:cpuset:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-poda5c1f8d5_1919_434d_add7_4afaafdaef89.slice/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c.scope
            11:files:/
            """
        #expect(CgroupPath.container(in: crio)
            == ContainerReference(runtime: .crio, id: "5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c",
                                  podUID: "a5c1f8d5-1919-434d-add7-4afaafdaef89"))
        // CRI-O's conmon scope from the same report: the monitor, not a container.
        #expect(CgroupPath.container(in: "1:name=systemd:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod207aaad1_659f_4db8_88e0_46e0cdcc3004.slice/crio-conmon-32da98c8522068be05a7510a3eddb09cad6ed2f03286180d0e931d0d0b6224a6.scope\n") == nil)
        // CRI-O's cgroupfs form, `<parent>/crio-<id>`, and its systemd cgroupsPath taken literally.
        #expect(CgroupPath.container(in: "0::/kubepods/burstable/poda5c1f8d5-1919-434d-add7-4afaafdaef89/crio-5eed917563583925ffdbd40a64efb2aaffe58638e57add8becaf460fe74f5b1c\n")?.runtime == .crio)
        #expect(CgroupPath.container(in: "0::/pod_123-456.slice:crio:1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca\n")
            == ContainerReference(runtime: .crio, id: "1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca"))
    }

    @Test func aPodInsideAKubernetesNodeContainerIsNamedByTheInnermostContainer() {
        // minikube's node is a Docker container running CRI-O (the systemd-cgls tree in kubernetes/minikube#11280).
        let path = "/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/crio-0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0.scope"
        #expect(CgroupPath.container(in: "1:name=systemd:\(path)\n")
            == ContainerReference(runtime: .crio, id: "0ba8ac17e4e7a31fb82279503552fe94e64bab4745bf6fd2ff231e7c8ca8bed0",
                                  podUID: "2ca4a155-3599-498d-bb9d-4446693fa3ea"))
        // The node's own processes (kubelet, CRI-O) are in the node container.
        #expect(CgroupPath.container(in: "1:name=systemd:/docker/d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22/system.slice/crio.service\n")
            == ContainerReference(runtime: .docker, id: "d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22"))
    }

    @Test func podmanSystemdForms() {
        // crun's `container` sub-cgroup below the scope (containers/podman#20423, cgroup v2).
        #expect(CgroupPath.container(in: "0::/user.slice/user-0.slice/user@0.service/machine.slice/libpod-cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb.scope/container\n")
            == ContainerReference(runtime: .podman, id: "cf21d19260ace8544fe8b769fc2638bf2c0873dfbfff0b6253f0569b26a1d5eb"))
        // `--cgroups=split` (coroot/coroot-node-agent#251).
        #expect(CgroupPath.container(in: "0::/system.slice/app_name.service/libpod-payload-cc316b3065798e96c30dcfc708f7a7dda1b2d78e552364002d2e49a3100ef3ef\n")
            == ContainerReference(runtime: .podman, id: "cc316b3065798e96c30dcfc708f7a7dda1b2d78e552364002d2e49a3100ef3ef"))
        // conmon's scope (the unit name in containers/podman#12535).
        #expect(CgroupPath.container(in: "0::/machine.slice/libpod-conmon-2d02fdbc47549a1c08a6670fbd37958861a56cd7d330506df25e2bc5d24256ab.scope\n") == nil)
    }

    @Test func aBareIdBelowAnyOtherCgroupIsNotGuessed() {
        // Rootless podman 2 on cgroup v1 names only a name=systemd sub-cgroup by the bare id (containers/podman#6734):
        // nothing says which runtime made it, so it is left to the namespace check.
        let text = """
            7:memory:/user.slice/user-1000.slice/user@1000.service
            1:name=systemd:/user.slice/user-1000.slice/user@1000.service/apps.slice/apps-org.gnome.Terminal.slice/vte-spawn-6773d329-9ee1-450e-ae44-d5e4810e64a2.scope/ef312c6459eb19dc7f99f918f0eb90c7a231c59f50e40e9141018baa13c48b35
            0::/user.slice/user-1000.slice/user@1000.service/apps.slice/apps-org.gnome.Terminal.slice/vte-spawn-6773d329-9ee1-450e-ae44-d5e4810e64a2.scope
            """
        #expect(CgroupPath.container(in: text) == nil)
    }

    @Test func linesThatDisagreeResolveToTheDeepestThenTheV2Line() {
        let a = String(repeating: "a", count: 64), b = String(repeating: "b", count: 64)
        // The v2 line stays at / on a hybrid host whose runtime manages only v1: the v1 lines name it.
        #expect(CgroupPath.container(in: "4:memory:/docker/\(a)\n0::/\n") == ContainerReference(runtime: .docker, id: a))
        // Equally deep: the v2 line wins, whatever the order of the lines.
        let lines = ["4:memory:/docker/\(b)", "0::/system.slice/docker-\(a).scope", "1:name=systemd:/system.slice/libpod-\(b).scope"]
        for order in [lines, lines.reversed()] {
            #expect(CgroupPath.container(in: order.joined(separator: "\n")) == ContainerReference(runtime: .docker, id: a))
        }
        // name=systemd before the other v1 controllers.
        #expect(CgroupPath.container(in: "2:cpu:/docker/\(b)\n1:name=systemd:/system.slice/libpod-\(a).scope\n")
            == ContainerReference(runtime: .podman, id: a))
        // Deeper wins over the v2 line.
        #expect(CgroupPath.container(in: "0::/docker/\(b)\n4:memory:/docker/\(b)/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/\(a)\n")
            == ContainerReference(runtime: .containerd, id: a, podUID: "5c0ffee0-1234-4abc-9def-0123456789ab"))
    }

    @Test func textThatIsNotACgroupFileNamesNothing() {
        let id = "ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca"
        #expect(CgroupPath.container(in: "") == nil)
        #expect(CgroupPath.container(in: "garbage\n0::/docker/\(id)\n") == nil)
        #expect(CgroupPath.container(in: "0::docker/\(id)\n") == nil)                    // a path is absolute
        #expect(CgroupPath.container(in: "x::/docker/\(id)\n") == nil)                   // a hierarchy is a number
        #expect(CgroupPath.container(in: "0::/docker/\(id.uppercased())\n") == nil)     // ids are lowercase
        #expect(CgroupPath.container(in: "0::/docker/\(id.dropLast())\n") == nil)        // and 64 digits
        #expect(CgroupPath.container(in: "0::/docker/\(id)0\n") == nil)
        #expect(CgroupPath.container(in: "0::/x/docker-\(id).scope:\n") == nil)
    }

    @Test func aHostileLineOrLineCountIsRefusedQuickly() {
        let id = "ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca"
        let clock = ContinuousClock()
        // 64 KiB of path components, ending with a real container's: longer than any path the kernel writes.
        let long = "0::" + String(repeating: "/kubepods", count: (64 << 10) / 9) + "/docker/\(id)\n"
        #expect(long.utf8.count > 64 << 10)
        // 10,000 well-formed lines: more than any kernel has hierarchies.
        let many = (0..<10_000).map { "\($0 % 12):cpu:/docker/\(id)" }.joined(separator: "\n")
        // 64 KiB of colons in one line and a line of 64 KiB of slashes.
        let colons = "0::/" + String(repeating: ":", count: 64 << 10)
        let slashes = "0::" + String(repeating: "/", count: 64 << 10)
        let elapsed = clock.measure {
            #expect(CgroupPath.container(in: long) == nil)
            #expect(CgroupPath.container(in: many) == nil)
            #expect(CgroupPath.container(in: colons) == nil)
            #expect(CgroupPath.container(in: slashes) == nil)
        }
        #expect(elapsed < .seconds(1), "\(elapsed) to refuse four hostile texts")
        // The limits are the kernel's, not lower: 64 lines and a 4096-byte path still parse.
        let deep = "0::" + String(repeating: "/x", count: (4096 - 72) / 2) + "/docker/\(id)"
        #expect(CgroupPath.container(in: deep)?.id == id)
        let sixtyFour = (0..<64).map { "\($0 + 1):c\($0):/docker/\(id)" }.joined(separator: "\n")
        #expect(CgroupPath.container(in: sixtyFour)?.id == id)
    }

    // MARK: - Runtime state on disk

    @Test func dockerConfigGivesNameImageAndPod() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        let plain = "ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca"
        let sandbox = "6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257"
        try tree.write("var/lib/docker/containers/\(plain)/config.v2.json", CapturedState.dockerPlain)
        try tree.write("var/lib/docker/containers/\(sandbox)/config.v2.json", CapturedState.dockerPodSandbox)

        let found = tree.state.metadata(for: ContainerReference(runtime: .docker, id: plain))
        #expect(found.problem == nil)
        #expect(found.metadata == ContainerMetadata(name: "cw-probe-d", image: "cw-probe:1",
                                                    imageID: "sha256:03fab0471c353e898c4f5bd894606fee410b360219655cd13f9dbee29fea5887"))
        let pod = try #require(tree.state.metadata(for: ContainerReference(runtime: .docker, id: sandbox)).metadata)
        #expect(pod.name == "k8s_POD_web-0_shop_6f1e2a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b_0")
        #expect(pod.pod == "web-0" && pod.namespace == "shop" && pod.containerName == "POD" && pod.isSandbox)
        #expect(pod.labels["io.kubernetes.pod.uid"] == "6f1e2a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b")
    }

    @Test func aContainerNoStateKnowsIsNeitherFoundNorAProblem() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        for runtime in ContainerRuntime.allCases {
            let result = tree.state.metadata(for: ContainerReference(runtime: runtime, id: String(repeating: "c", count: 64)))
            #expect(result.metadata == nil && result.problem == nil, "\(runtime)")
        }
    }

    @Test func anIdThatIsNotOneIsNeverMadeIntoAPath() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        try tree.write("etc/config.v2.json", CapturedState.dockerPlain)
        let result = tree.state.metadata(for: ContainerReference(runtime: .docker, id: "../../../etc"))
        #expect(result.metadata == nil)
        #expect(result.problem?.contains("not 64 lowercase hex digits") == true)
    }

    @Test func podmanStoreGivesNamesImagesAndThePodsInfraContainer() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        try tree.write("var/lib/containers/storage/overlay-containers/containers.json", CapturedState.podmanContainers)
        let state = tree.state

        let plain = try #require(state.metadata(for: ContainerReference(runtime: .podman, id: "aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a")).metadata)
        #expect(plain == ContainerMetadata(name: "cw-probe-a", image: "localhost/cw-probe:1",
                                           imageID: "sha256:c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65"))
        let infra = try #require(state.metadata(for: ContainerReference(runtime: .podman, id: "a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f")).metadata)
        #expect(infra.name == "5bd3f7d9d442-infra" && infra.isSandbox)
        let member = try #require(state.metadata(for: ContainerReference(runtime: .podman, id: "b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb")).metadata)
        #expect(member.name == "cw-probe-b" && !member.isSandbox)
    }

    @Test func podmanVolatileContainersOfATransientStoreAreFound() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        // podman 4.3.1 kept the --rm container in containers.json (flag Volatile); a transient store writes the
        // same entries to the run root's volatile-containers.json (containers/storage newContainerStore).
        try tree.write("run/containers/storage/overlay-containers/volatile-containers.json", "[" + CapturedState.podmanRemovedOnExit + "]")
        let found = tree.state.metadata(for: ContainerReference(runtime: .podman, id: "cfecdfddf9f343a7175d570697a2563f588eb5a6d5662d0a7b31c6fea72dd85b"))
        #expect(found.metadata?.name == "cw-probe-rm" && found.problem == nil)
    }

    @Test func rootlessPodmanStoreInAHomeIsFound() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        try tree.write("home/cwprobe/.local/share/containers/storage/vfs-containers/containers.json", CapturedState.rootlessContainers)
        let found = tree.state.metadata(for: ContainerReference(runtime: .podman, id: "35aaa59dcade376663d412e04382bc476f7b4be43437d5d6a7a5292390ccfd9c"))
        #expect(found.problem == nil)
        #expect(found.metadata == ContainerMetadata(name: "cw-rootless", image: "localhost/cw-probe:1",
                                                    imageID: "sha256:3253becf0cc8ec20148cbe774d15f0635a31e5ea4b98ecbf1ef279e9deda66c0"))
    }

    @Test func aSymlinkInAUsersStoreIsNotFollowed() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        // eve's .local leads to a store she does not own: not read.
        try tree.write("elsewhere/share/containers/storage/vfs-containers/containers.json", CapturedState.rootlessContainers)
        try tree.write("home/eve/.keep", "")
        try tree.symlink("home/eve/.local", to: tree.root + "/elsewhere")
        let found = tree.state.metadata(for: ContainerReference(runtime: .podman, id: "35aaa59dcade376663d412e04382bc476f7b4be43437d5d6a7a5292390ccfd9c"))
        #expect(found.metadata == nil)
        #expect(found.problem?.contains("home/eve/.local: a symlink inside a user's container store; not followed") == true)
    }

    @Test func containerdBundlesGivePodAndImageFromCRIAnnotations() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        let container = "54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14"
        let sandbox = "6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828"
        let ctr = "334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f"
        let tasks = "run/containerd/io.containerd.runtime.v2.task"
        try tree.write("\(tasks)/k8s.io/\(container)/config.json", CapturedState.criContainerSpec)
        try tree.write("\(tasks)/k8s.io/\(sandbox)/config.json", CapturedState.criSandboxSpec)
        try tree.write("\(tasks)/cwprobe/\(ctr)/config.json", CapturedState.ctrSpec)
        let state = tree.state

        let app = try #require(state.metadata(for: ContainerReference(runtime: .containerd, id: container)).metadata)
        // containerd names the image by the first name the image has: cw-probe-pause:1 and cw-probe:1 were one image.
        #expect(app == ContainerMetadata(name: "app", image: "docker.io/library/cw-probe-pause:1", pod: "web-0",
                                         namespace: "shop", containerName: "app"))
        let pause = try #require(state.metadata(for: ContainerReference(runtime: .containerd, id: sandbox)).metadata)
        #expect(pause == ContainerMetadata(name: "web-0", pod: "web-0", namespace: "shop", isSandbox: true))
        // ctr records nothing in the spec: the container is named by its id.
        #expect(state.metadata(for: ContainerReference(runtime: .containerd, id: ctr)).metadata == ContainerMetadata(name: ctr))
    }

    @Test func aBareKubernetesIdAlsoFindsDockersRecord() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        // cri-dockerd writes the cgroupfs form containerd does: CgroupPath says containerd, Docker's state answers.
        let id = "6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257"
        try tree.write("var/lib/docker/containers/\(id)/config.v2.json", CapturedState.dockerPodSandbox)
        try tree.write("run/containerd/io.containerd.runtime.v2.task/k8s.io/.keep", "")
        #expect(tree.state.metadata(for: ContainerReference(runtime: .containerd, id: id)).metadata?.pod == "web-0")
    }

    @Test func crioSpecAnnotationsGivePodAndImage() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        let container = "49ecc282021562c567a8159ef424a06cdd8637efdca5953de9794eafe29adcad"
        let sandbox = "1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca"
        try tree.write("run/containers/storage/overlay-containers/\(container)/userdata/config.json", CapturedState.crioContainerSpec)
        try tree.write("var/lib/containers/storage/overlay-containers/\(sandbox)/userdata/config.json", CapturedState.crioSandboxSpec)

        let redis = try #require(tree.state.metadata(for: ContainerReference(runtime: .crio, id: container)).metadata)
        #expect(redis == ContainerMetadata(
            name: "k8s_podsandbox1-redis_podsandbox1_redhat.test.crio_redhat-test-crio_0", image: "quay.io/crio/redis:alpine",
            imageID: "sha256:98bd7cfc43b8ef0ff130465e3d5427c0771002c2f35a6a9b62cb2d04602bed0a", labels: ["tier": "backend"],
            containerName: "podsandbox1-redis"))
        let pause = try #require(tree.state.metadata(for: ContainerReference(runtime: .crio, id: sandbox)).metadata)
        #expect(pause.isSandbox && pause.pod == "podsandbox1" && pause.namespace == "redhat.test.crio")
        #expect(pause.containerName == "POD" && pause.image == "registry.k8s.io/pause:3.6")
    }

    // MARK: - Bad state files

    @Test func damagedStateFilesAreProblemsNamingTheFile() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        let id = "ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca"
        let file = "var/lib/docker/containers/\(id)/config.v2.json"
        let reference = ContainerReference(runtime: .docker, id: id)
        let cases: [(content: String, expected: String)] = [
            (String(CapturedState.dockerPlain.prefix(CapturedState.dockerPlain.count / 2)), "not valid JSON: truncated, or not JSON at all"),
            ("root:$y$j9T$notjson:19000:0:99999:7:::\n", "not valid JSON: truncated, or not JSON at all"),
            (#"{"ID":"\#(id)","Config":{"Labels":{"a":1}}}"#, "a value of another type at Config.Labels.a"),
            (#"{"ID":"\#(String(repeating: "d", count: 64))"}"#, "names container dddd"),
        ]
        for (content, expected) in cases {
            try tree.write(file, content)
            let result = tree.state.metadata(for: reference)
            #expect(result.metadata == nil)
            let problem = try #require(result.problem)
            #expect(problem.hasPrefix(tree.root + "/" + file), "\(problem)")
            #expect(problem.contains(expected), "\(problem)")
            #expect(!problem.contains("root:$y$"), "a problem never quotes the file")
        }
    }

    @Test func aStateFileOverTheLimitIsNotRead() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        let id = "ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca"
        try tree.write("var/lib/docker/containers/\(id)/config.v2.json", String(repeating: " ", count: 20_000_000) + "{}")
        let result = tree.state.metadata(for: ContainerReference(runtime: .docker, id: id))
        #expect(result.metadata == nil)
        #expect(result.problem?.contains("20000002 bytes, over the 16777216-byte limit for a runtime state file; not read") == true)
    }

    @Test func aStateFileSymlinkedToShadowIsNotFollowed() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        let id = "ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca"
        try tree.write("var/lib/docker/containers/\(id)/.keep", "")
        try tree.symlink("var/lib/docker/containers/\(id)/config.v2.json", to: "/etc/shadow")
        try tree.write("var/lib/containers/storage/overlay-containers/.keep", "")
        try tree.symlink("var/lib/containers/storage/overlay-containers/containers.json", to: "/etc/shadow")
        for runtime in [ContainerRuntime.docker, .podman] {
            let result = tree.state.metadata(for: ContainerReference(runtime: runtime, id: id))
            #expect(result.metadata == nil)
            #expect(result.problem?.contains("a symlink where the runtime writes a regular file; not followed") == true, "\(runtime)")
            #expect(result.problem?.contains("root:") == false)
        }
    }

    @Test func aStoreOf300ContainersIsSearchedWhole() throws {
        let tree = try StateTree()
        defer { tree.remove() }
        // The captured entry, 300 times with ids and names of their own.
        let ids = (0..<300).map { String(format: "%064x", $0 + 1) }
        let entries = ids.enumerated().map { index, id in
            CapturedState.podmanRemovedOnExit
                .replacingOccurrences(of: "cfecdfddf9f343a7175d570697a2563f588eb5a6d5662d0a7b31c6fea72dd85b", with: id)
                .replacingOccurrences(of: "cw-probe-rm", with: "c\(index)")
        }
        try tree.write("var/lib/containers/storage/overlay-containers/containers.json", "[" + entries.joined(separator: ",") + "]")
        let state = tree.state
        #expect(state.metadata(for: ContainerReference(runtime: .podman, id: ids[0])).metadata?.name == "c0")
        #expect(state.metadata(for: ContainerReference(runtime: .podman, id: ids[299])).metadata?.name == "c299")
        let absent = state.metadata(for: ContainerReference(runtime: .podman, id: String(repeating: "e", count: 64)))
        #expect(absent.metadata == nil && absent.problem == nil)
    }
}

/// A directory standing for a host's root, for `RuntimeState(hostPrefix:)`.
private struct StateTree {
    let root: String

    init() throws { root = try Support.temporaryDirectory("runtime-state") }

    var state: RuntimeState { RuntimeState(hostPrefix: root + "/") }

    func write(_ relative: String, _ text: String) throws {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: path)
        try #require(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
    }

    func symlink(_ relative: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: root + "/" + relative, withDestinationPath: target)
    }

    func remove() { Support.remove(root) }
}

private enum CapturedCgroup {
    /// `podman --runtime runc run -d` (podman 4.3.1, runc 1.1.5, cgroupfs manager) on this machine (Debian 12, kernel 6.18 in a Firecracker VM: cgroup v1 hierarchies plus v2 at /sys/fs/cgroup/unified, no systemd): the container's process.
    static let podmanContainer = #"""
        9:name=systemd:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        8:pids:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        7:blkio:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        6:freezer:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        5:devices:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        4:memory:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        3:cpuset:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        2:cpuacct:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        1:cpu:/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        0::/libpod_parent/libpod-aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a
        """#

    /// Its conmon: in libpod_parent/conmon for the v1 controllers, left at / in name=systemd and v2.
    static let podmanConmon = #"""
        9:name=systemd:/
        8:pids:/libpod_parent/conmon
        7:blkio:/libpod_parent/conmon
        6:freezer:/libpod_parent/conmon
        5:devices:/libpod_parent/conmon
        4:memory:/libpod_parent/conmon
        3:cpuset:/libpod_parent/conmon
        2:cpuacct:/libpod_parent/conmon
        1:cpu:/libpod_parent/conmon
        0::/
        """#

    /// A container of `podman pod create` (pod 5bd3f7d9d442...), same machine: the pod's cgroup is a bare 64-hex id.
    static let podmanPodMember = #"""
        9:name=systemd:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        8:pids:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        7:blkio:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        6:freezer:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        5:devices:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        4:memory:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        3:cpuset:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        2:cpuacct:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        1:cpu:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        0::/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb
        """#

    /// Its conmon, in the pod's cgroup.
    static let podmanPodConmon = #"""
        9:name=systemd:/
        8:pids:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        7:blkio:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        6:freezer:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        5:devices:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        4:memory:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        3:cpuset:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        2:cpuacct:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        1:cpu:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/conmon
        0::/
        """#

    /// The pod's infra container (5bd3f7d9d442-infra).
    static let podmanInfra = #"""
        9:name=systemd:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        8:pids:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        7:blkio:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        6:freezer:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        5:devices:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        4:memory:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        3:cpuset:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        2:cpuacct:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        1:cpu:/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        0::/libpod_parent/5bd3f7d9d4427e62c6606b8d0c3842081ab2f5b193121f23c8d2047bdc30e9bd/libpod-a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f
        """#

    /// `docker run -d` (dockerd 20.10.24+dfsg1, client 28.2.2, cgroupfs driver), same machine.
    static let dockerContainer = #"""
        9:name=systemd:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        8:pids:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        7:blkio:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        6:freezer:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        5:devices:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        4:memory:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        3:cpuset:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        2:cpuacct:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        1:cpu:/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        0::/docker/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca
        """#

    /// Its containerd-shim-runc-v2: where dockerd was started (memory: this sandbox's own /process_api/<32 hex>).
    static let dockerShim = #"""
        9:name=systemd:/
        8:pids:/
        7:blkio:/
        6:freezer:/
        5:devices:/
        4:memory:/process_api/a2cf4605141bbb519ef929b60b29db9f
        3:cpuset:/
        2:cpuacct:/
        1:cpu:/
        0::/
        """#

    /// `ctr -n cwprobe run -d IMAGE <64 hex>` (containerd 1.6.20): ctr's default cgroupsPath /<namespace>/<id>.
    static let ctrContainer = #"""
        9:name=systemd:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        8:pids:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        7:blkio:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        6:freezer:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        5:devices:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        4:memory:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        3:cpuset:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        2:cpuacct:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        1:cpu:/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        0::/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f
        """#

    /// `ctr -n cwprobe run -d IMAGE cw-named`: an id that is a name, not 64 hex digits.
    static let ctrNamed = #"""
        9:name=systemd:/cwprobe/cw-named
        8:pids:/cwprobe/cw-named
        7:blkio:/cwprobe/cw-named
        6:freezer:/cwprobe/cw-named
        5:devices:/cwprobe/cw-named
        4:memory:/cwprobe/cw-named
        3:cpuset:/cwprobe/cw-named
        2:cpuacct:/cwprobe/cw-named
        1:cpu:/cwprobe/cw-named
        0::/cwprobe/cw-named
        """#

    /// A CRI container started through containerd 1.6.20's CRI socket (RunPodSandbox with cgroup_parent /kubepods/besteffort/pod<uid> as kubelet's cgroupfs driver passes it, then CreateContainer).
    static let criContainer = #"""
        9:name=systemd:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        8:pids:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        7:blkio:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        6:freezer:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        5:devices:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        4:memory:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        3:cpuset:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        2:cpuacct:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        1:cpu:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        0::/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14
        """#

    /// That pod's sandbox (pause) container.
    static let criSandbox = #"""
        9:name=systemd:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        8:pids:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        7:blkio:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        6:freezer:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        5:devices:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        4:memory:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        3:cpuset:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        2:cpuacct:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        1:cpu:/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        0::/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828
        """#

    /// A rootless podman container (user cwprobe, vfs driver): rootless podman gets no cgroup of its own on cgroup v1.
    static let rootlessPodman = #"""
        9:name=systemd:/
        8:pids:/
        7:blkio:/
        6:freezer:/
        5:devices:/
        4:memory:/process_api/a2cf4605141bbb519ef929b60b29db9f
        3:cpuset:/
        2:cpuacct:/
        1:cpu:/
        0::/
        """#
}

private enum CapturedState {
    /// /var/lib/docker/containers/ca4311bc.../config.v2.json as dockerd 20.10.24 wrote it for `docker run -d --name cw-probe-d` (this machine).
    static let dockerPlain = #"""
        {"StreamConfig":{},"State":{"Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"RemovalInProgress":false,"Dead":false,"Pid":32293,"ExitCode":0,"Error":"","StartedAt":"2026-12-07T03:06:38.501618123Z","FinishedAt":"0001-01-01T00:00:00Z","Health":null},"ID":"ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca","Created":"2026-12-07T03:06:38.199582057Z","Managed":false,"Path":"/bin/sleep","Args":["600"],"Config":{"Hostname":"ca4311bc2a40","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["/bin/sleep","600"],"Image":"cw-probe:1","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{}},"Image":"sha256:03fab0471c353e898c4f5bd894606fee410b360219655cd13f9dbee29fea5887","NetworkSettings":{"Bridge":"","SandboxID":"7a9ae4e505471b11dc8e2b268bce2e85856933d1c2caea7087d2c12862e03329","HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"9834c12465a139ae30cee4271ad659420c25ec7d7b7aa5cfba7bb26cee8e94a5","EndpointID":"a93a09b76a2d047fb8a07ae82d62e00e62461398ca1197bbbce73834ba55077c","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null,"IPAMOperational":false}},"Service":null,"Ports":{},"SandboxKey":"/var/run/docker/netns/7a9ae4e50547","SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,"IsAnonymousEndpoint":false,"HasSwarmEndpoint":false},"LogPath":"/var/lib/docker/containers/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca-json.log","Name":"/cw-probe-d","Driver":"overlay2","OS":"linux","MountLabel":"","ProcessLabel":"","RestartCount":0,"HasBeenStartedBefore":true,"HasBeenManuallyStopped":false,"MountPoints":{},"SecretReferences":null,"ConfigReferences":null,"AppArmorProfile":"","HostnamePath":"/var/lib/docker/containers/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca/hostname","HostsPath":"/var/lib/docker/containers/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca/hosts","ShmPath":"","ResolvConfPath":"/var/lib/docker/containers/ca4311bc2a4053f63da4916879ec334072644dd0fc2e2de784bbf94ffe9bc9ca/resolv.conf","SeccompProfile":"","NoNewPrivileges":false,"LocalLogCacheMeta":{"HaveNotifyEnabled":false}}
        """#

    /// The same for a container run with the labels cri-dockerd gives a pod's pause container (io.kubernetes.docker.type=podsandbox, ...) and its k8s_POD_ name.
    static let dockerPodSandbox = #"""
        {"StreamConfig":{},"State":{"Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"RemovalInProgress":false,"Dead":false,"Pid":32394,"ExitCode":0,"Error":"","StartedAt":"2026-12-07T03:06:44.025709392Z","FinishedAt":"0001-01-01T00:00:00Z","Health":null},"ID":"6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257","Created":"2026-12-07T03:06:43.734034897Z","Managed":false,"Path":"/bin/sleep","Args":["600"],"Config":{"Hostname":"6418fb8d73a4","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["/bin/sleep","600"],"Image":"cw-probe:1","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"io.kubernetes.container.name":"POD","io.kubernetes.docker.type":"podsandbox","io.kubernetes.pod.name":"web-0","io.kubernetes.pod.namespace":"shop","io.kubernetes.pod.uid":"6f1e2a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b"}},"Image":"sha256:03fab0471c353e898c4f5bd894606fee410b360219655cd13f9dbee29fea5887","NetworkSettings":{"Bridge":"","SandboxID":"781f4e9734cf46a8bfc2f745569d08deb82022fd5eb66685d836433d8b803b77","HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"Networks":{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"NetworkID":"9834c12465a139ae30cee4271ad659420c25ec7d7b7aa5cfba7bb26cee8e94a5","EndpointID":"d15e08e868453753edebd80d8d4a28b1f53a151d2285c2866165156643af66fb","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"","DriverOpts":null,"IPAMOperational":false}},"Service":null,"Ports":{},"SandboxKey":"/var/run/docker/netns/781f4e9734cf","SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,"IsAnonymousEndpoint":false,"HasSwarmEndpoint":false},"LogPath":"/var/lib/docker/containers/6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257/6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257-json.log","Name":"/k8s_POD_web-0_shop_6f1e2a3b-1c2d-4e5f-8a9b-0c1d2e3f4a5b_0","Driver":"overlay2","OS":"linux","MountLabel":"","ProcessLabel":"","RestartCount":0,"HasBeenStartedBefore":true,"HasBeenManuallyStopped":false,"MountPoints":{},"SecretReferences":null,"ConfigReferences":null,"AppArmorProfile":"","HostnamePath":"/var/lib/docker/containers/6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257/hostname","HostsPath":"/var/lib/docker/containers/6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257/hosts","ShmPath":"","ResolvConfPath":"/var/lib/docker/containers/6418fb8d73a4af509984c0cbc67ab316e748c1cf08992bd0bc577eec376c0257/resolv.conf","SeccompProfile":"","NoNewPrivileges":false,"LocalLogCacheMeta":{"HaveNotifyEnabled":false}}
        """#

    /// /var/lib/containers/storage/overlay-containers/containers.json as podman 4.3.1 wrote it (this machine): cw-probe-a, cw-probe-rm (--rm), and pod cw-probe-pod's infra container and member cw-probe-b.
    static let podmanContainers = #"""
        [{"id":"aad9a82854df7ef04e45cdb32b3920af8ec2f7f5a252301cf0eeb80417ef604a","names":["cw-probe-a"],"image":"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65","layer":"bb08a015ac31b49ffb495af966af52a37ed6cdb9da688d9ec7ab6d58d74d1bcc","metadata":"{\"image-name\":\"localhost/cw-probe:1\",\"image-id\":\"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65\",\"name\":\"cw-probe-a\",\"created-at\":1796612743}","created":"2026-12-07T03:05:43.792584164Z","flags":{"MountLabel":"","ProcessLabel":""}},{"id":"cfecdfddf9f343a7175d570697a2563f588eb5a6d5662d0a7b31c6fea72dd85b","names":["cw-probe-rm"],"image":"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65","layer":"03d65bbedecaf7bdc208cb0a121301f007d8edb5cf50f2543e635d096fe2787e","metadata":"{\"image-name\":\"localhost/cw-probe:1\",\"image-id\":\"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65\",\"name\":\"cw-probe-rm\",\"created-at\":1796612756}","created":"2026-12-07T03:05:56.36479027Z","flags":{"MountLabel":"","ProcessLabel":"","Volatile":true}},{"id":"a546b87565751645354b0ae6e3710ef70e60e17ecc139804f0c3e20774aeae0f","names":["5bd3f7d9d442-infra"],"image":"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65","layer":"63de1f398bff08d31f0061ccf9274b89bf910f983d392e76eb149cdb37cfd406","metadata":"{\"image-name\":\"localhost/cw-probe:1\",\"image-id\":\"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65\",\"name\":\"5bd3f7d9d442-infra\",\"created-at\":1796612773}","created":"2026-12-07T03:06:13.952311205Z","flags":{"MountLabel":"","ProcessLabel":""}},{"id":"b636a98714b9af3ab1e74beb69b0e68c3504b61f6f62be2cb4a6d961ec5f6feb","names":["cw-probe-b"],"image":"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65","layer":"3785c8d6adf9ed25f85b2ef4b765ca8341628e0e1c46f6e4c4dc289b3ffb2923","metadata":"{\"image-name\":\"localhost/cw-probe:1\",\"image-id\":\"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65\",\"name\":\"cw-probe-b\",\"created-at\":1796612774}","created":"2026-12-07T03:06:14.05945294Z","flags":{"MountLabel":"","ProcessLabel":""}}]
        """#

    /// Its entry for cw-probe-rm, cut from that file.
    static let podmanRemovedOnExit = #"""
        {"id":"cfecdfddf9f343a7175d570697a2563f588eb5a6d5662d0a7b31c6fea72dd85b","names":["cw-probe-rm"],"image":"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65","layer":"03d65bbedecaf7bdc208cb0a121301f007d8edb5cf50f2543e635d096fe2787e","metadata":"{\"image-name\":\"localhost/cw-probe:1\",\"image-id\":\"c8a2ac578b45842919f1e49eb7b1c22a65448f314dda20f9709837ec46b88b65\",\"name\":\"cw-probe-rm\",\"created-at\":1796612756}","created":"2026-12-07T03:05:56.36479027Z","flags":{"MountLabel":"","ProcessLabel":"","Volatile":true}}
        """#

    /// ~cwprobe/.local/share/containers/storage/vfs-containers/containers.json: rootless podman 4.3.1 as user cwprobe chose the vfs driver (this machine).
    static let rootlessContainers = #"""
        [{"id":"35aaa59dcade376663d412e04382bc476f7b4be43437d5d6a7a5292390ccfd9c","names":["cw-rootless"],"image":"3253becf0cc8ec20148cbe774d15f0635a31e5ea4b98ecbf1ef279e9deda66c0","layer":"fa93b290fdc8ca849833420106be7cf8f45a613101ef35dca621ff9460a214ee","metadata":"{\"image-name\":\"localhost/cw-probe:1\",\"image-id\":\"3253becf0cc8ec20148cbe774d15f0635a31e5ea4b98ecbf1ef279e9deda66c0\",\"name\":\"cw-rootless\",\"created-at\":1796612958}","created":"2026-12-07T03:09:18.666682292Z","flags":{"MountLabel":"","ProcessLabel":""}}]
        """#

    /// /run/containerd/io.containerd.runtime.v2.task/k8s.io/54fcb541.../config.json, written by containerd 1.6.20's CRI plugin for container app of pod shop/web-0 (this machine), trimmed to ociVersion, args, root, annotations and cgroupsPath.
    static let criContainerSpec = #"""
        {
          "ociVersion": "1.0.2-dev",
          "process": {
            "args": [
              "/bin/sleep",
              "600"
            ],
            "cwd": "/"
          },
          "root": {
            "path": "rootfs"
          },
          "annotations": {
            "io.kubernetes.cri.container-name": "app",
            "io.kubernetes.cri.container-type": "container",
            "io.kubernetes.cri.image-name": "docker.io/library/cw-probe-pause:1",
            "io.kubernetes.cri.sandbox-id": "6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828",
            "io.kubernetes.cri.sandbox-name": "web-0",
            "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.sandbox-uid": "5c0ffee0-1234-4abc-9def-0123456789ab"
          },
          "linux": {
            "cgroupsPath": "/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/54fcb54152ff2945bf4e95d29b1754fd6d7fd2e57094e65574ece9ca0b9abe14"
          }
        }
        """#

    /// The same pod's sandbox, trimmed alike.
    static let criSandboxSpec = #"""
        {
          "ociVersion": "1.0.2-dev",
          "process": {
            "args": [
              "/bin/sleep",
              "600"
            ],
            "cwd": "/"
          },
          "root": {
            "path": "rootfs",
            "readonly": true
          },
          "annotations": {
            "io.kubernetes.cri.container-type": "sandbox",
            "io.kubernetes.cri.sandbox-id": "6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828",
            "io.kubernetes.cri.sandbox-log-directory": "/tmp/cwdisc/cri/logs",
            "io.kubernetes.cri.sandbox-name": "web-0",
            "io.kubernetes.cri.sandbox-namespace": "shop",
            "io.kubernetes.cri.sandbox-uid": "5c0ffee0-1234-4abc-9def-0123456789ab"
          },
          "linux": {
            "cgroupsPath": "/kubepods/besteffort/pod5c0ffee0-1234-4abc-9def-0123456789ab/6bc8c37c14310acb798a9ad369b4e15f2270c60b0f17e1ca715a14a181999828"
          }
        }
        """#

    /// The bundle of `ctr -n cwprobe run` (containerd 1.6.20, this machine), trimmed alike: no annotations at all.
    static let ctrSpec = #"""
        {
          "ociVersion": "1.0.2-dev",
          "process": {
            "args": [
              "/bin/sleep",
              "600"
            ],
            "cwd": "/"
          },
          "root": {
            "path": "rootfs"
          },
          "linux": {
            "cgroupsPath": "/cwprobe/334e7ea5960e3ea4393735290f06d850d95fa8debdd14e3149928617f1a4095f"
          }
        }
        """#

    // CRI-O could not be run here (no Debian 12 package). Its specs' annotations below are those of a CRI-O pod's
    // container and sandbox as crictl inspect shows them, in falcosecurity/libs
    // userspace/libsinsp/test/container_engine/container_parser_cri_crio.ut.cpp, trimmed to the annotations
    // (all of them, values as published) and cgroupsPath.

    /// The container podsandbox1-redis.
    static let crioContainerSpec = #"""
        {"ociVersion": "1.0.2-dev", "annotations": {
          "io.kubernetes.cri-o.ImageName": "quay.io/crio/redis:alpine",
          "io.kubernetes.cri-o.Stdin": "false",
          "io.kubernetes.cri-o.StdinOnce": "false",
          "io.kubernetes.cri-o.Created": "2023-12-12T04:10:25.992573978Z",
          "io.kubernetes.cri-o.Volumes": "[]",
          "io.kubernetes.cri-o.SandboxID": "1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca",
          "io.kubernetes.cri-o.ResolvPath": "/run/containers/storage/overlay-containers/1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca/userdata/resolv.conf",
          "io.container.manager": "cri-o",
          "io.kubernetes.cri-o.LogPath": "/var/log/crio/pods/1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca/49ecc282021562c567a8159ef424a06cdd8637efdca5953de9794eafe29adcad.log",
          "pod": "podsandbox1",
          "tier": "backend",
          "org.systemd.property.After": "['crio.service']",
          "io.kubernetes.cri-o.IP.0": "10.244.0.3",
          "org.systemd.property.DefaultDependencies": "true",
          "io.kubernetes.cri-o.Image": "quay.io/crio/redis:alpine",
          "io.kubernetes.cri-o.ImageRef": "98bd7cfc43b8ef0ff130465e3d5427c0771002c2f35a6a9b62cb2d04602bed0a",
          "io.kubernetes.cri-o.MountPoint": "/var/lib/containers/storage/overlay/452374ade3f42caaea412ed8d221100864d3282e29acde3279db72f6d2468a67/merged",
          "io.kubernetes.cri-o.Labels": "{\"tier\":\"backend\"}",
          "io.kubernetes.cri-o.Annotations": "{\"pod\":\"podsandbox1\"}",
          "io.kubernetes.cri-o.Metadata": "{\"name\":\"podsandbox1-redis\"}",
          "com.example.test": "sandbox annotation",
          "security.alpha.kubernetes.io/seccomp/pod": "unconfined",
          "owner": "hmeng",
          "io.kubernetes.cri-o.ContainerID": "49ecc282021562c567a8159ef424a06cdd8637efdca5953de9794eafe29adcad",
          "io.kubernetes.cri-o.ContainerType": "container",
          "io.kubernetes.cri-o.Name": "k8s_podsandbox1-redis_podsandbox1_redhat.test.crio_redhat-test-crio_0",
          "io.kubernetes.cri-o.SandboxName": "k8s_podsandbox1_redhat.test.crio_redhat-test-crio_1",
          "io.kubernetes.cri-o.TTY": "false",
          "io.kubernetes.cri-o.SeccompProfilePath": "",
          "org.systemd.property.CollectMode": "'inactive-or-failed'"
        }, "linux": {"cgroupsPath": "pod_123-456.slice:crio:49ecc282021562c567a8159ef424a06cdd8637efdca5953de9794eafe29adcad"}}
        """#

    /// The pod's sandbox, podsandbox1.
    static let crioSandboxSpec = #"""
        {"ociVersion": "1.0.2-dev", "annotations": {
          "io.kubernetes.cri-o.ResolvPath": "/run/containers/storage/overlay-containers/1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca/userdata/resolv.conf",
          "org.systemd.property.CollectMode": "'inactive-or-failed'",
          "io.kubernetes.cri-o.Name": "k8s_podsandbox1_redhat.test.crio_redhat-test-crio_1",
          "io.kubernetes.cri-o.SandboxID": "1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca",
          "io.kubernetes.cri-o.Image": "registry.k8s.io/pause:3.6",
          "io.kubernetes.cri-o.PrivilegedRuntime": "false",
          "io.kubernetes.cri-o.Created": "2023-12-12T04:10:22.504653972Z",
          "io.kubernetes.cri-o.PortMappings": "[]",
          "io.kubernetes.cri-o.IP.0": "10.244.0.3",
          "io.kubernetes.cri-o.Labels": "{\"group\":\"test\",\"io.kubernetes.container.name\":\"POD\"}",
          "io.kubernetes.cri-o.ShmPath": "/run/containers/storage/overlay-containers/1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca/userdata/shm",
          "io.kubernetes.cri-o.RuntimeHandler": "",
          "io.kubernetes.cri-o.KubeName": "podsandbox1",
          "io.kubernetes.cri-o.HostnamePath": "/run/containers/storage/overlay-containers/1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca/userdata/hostname",
          "io.kubernetes.cri-o.SeccompProfilePath": "",
          "io.kubernetes.cri-o.Namespace": "redhat.test.crio",
          "io.kubernetes.cri-o.ContainerName": "k8s_POD_podsandbox1_redhat.test.crio_redhat-test-crio_1",
          "security.alpha.kubernetes.io/seccomp/pod": "unconfined",
          "io.kubernetes.container.name": "POD",
          "owner": "hmeng",
          "io.kubernetes.cri-o.LogPath": "/var/log/crio/pods/1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca/1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca.log",
          "io.kubernetes.cri-o.ImageName": "registry.k8s.io/pause:3.6",
          "io.kubernetes.cri-o.NamespaceOptions": "{\"pid\":1}",
          "io.kubernetes.cri-o.Spoofed": "true",
          "io.kubernetes.cri-o.Annotations": "{\"com.example.test\":\"sandbox annotation\",\"security.alpha.kubernetes.io/seccomp/pod\":\"unconfined\",\"owner\":\"hmeng\"}",
          "io.kubernetes.cri-o.HostName": "crictl_host",
          "io.container.manager": "cri-o",
          "com.example.test": "sandbox annotation",
          "io.kubernetes.cri-o.SandboxName": "k8s_podsandbox1_redhat.test.crio_redhat-test-crio_1",
          "io.kubernetes.cri-o.ContainerID": "1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca",
          "io.kubernetes.cri-o.CgroupParent": "pod_123-456.slice",
          "io.kubernetes.cri-o.MountPoint": "/var/lib/containers/storage/overlay/3d0bdf5559c7bc99637bb455e8612da36bbb082af75467f5aec80a29f2e3a72c/merged",
          "io.kubernetes.cri-o.Metadata": "{\"name\":\"podsandbox1\",\"uid\":\"redhat-test-crio\",\"namespace\":\"redhat.test.crio\",\"attempt\":1}",
          "io.kubernetes.cri-o.ContainerType": "sandbox",
          "io.kubernetes.cri-o.HostNetwork": "false",
          "group": "test"
        }, "linux": {"cgroupsPath": "pod_123-456.slice:crio:1f04600dc6949359da68eee5fe7c4069706a567c07d1ef89fe3bbfdeac7a6dca"}}
        """#
}
