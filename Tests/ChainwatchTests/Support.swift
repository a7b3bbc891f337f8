import Foundation
import Testing

/// Paths and helpers shared by the tests: fixture roots built with gcc at test time, the built binary, processes.
enum Support {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var rulesDirectory: String { packageRoot + "/rules" }

    /// The shipped rules for scans of this host, plus one suppression for this checkout: the test runner and the
    /// chainwatch under test run from it, and CI may clone it into /tmp or a home directory, where a root process
    /// running code is exactly what provenance-root-process-code-from-writable-place reports. Every other rule, and
    /// that rule for every other path, applies unchanged.
    static let hostRulesDirectory: String = {
        let directory = packageRoot + "/.build/test-host-rules"
        try? FileManager.default.removeItem(atPath: directory)
        try! FileManager.default.copyItem(atPath: rulesDirectory, toPath: directory)
        try! """
            chainwatch-rules: 1
            suppressions:
              - rule: provenance-root-process-code-from-writable-place
                reason: "the test suite's own processes run from its checkout, \(packageRoot)"
                paths: ["\(packageRoot)/*"]

            """.write(toFile: directory + "/test-checkout.yaml", atomically: true, encoding: .utf8)
        return directory
    }()

    /// The chainwatch executable `swift build` put beside the test bundle.
    static var binary: String {
        let candidates = [".build/debug/chainwatch", ".build/release/chainwatch"].map { packageRoot + "/" + $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// A new empty directory under /tmp, removed by the caller's `defer`.
    static func temporaryDirectory(_ label: String = "cw") throws -> String {
        let path = NSTemporaryDirectory() + "chainwatch-test-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        return path
    }

    static func remove(_ path: String) { try? FileManager.default.removeItem(atPath: path) }

    static var fixtures: String { packageRoot + "/Tests/Fixtures" }

    /// Runs a fixture script of Tests/Fixtures with a new OUTDIR (in a temporary parent the caller removes with
    /// `remove(out + "/..")`) and its options; returns OUTDIR.
    static func fixture(_ script: String, _ options: [String] = []) throws -> String {
        let parent = try temporaryDirectory("fixture")
        let out = parent + "/out"
        let result = try run(fixtures + "/" + script, [out] + options)
        try #require(result.status == 0, "\(script) \(options) failed: \(result.stderr)")
        return out
    }

    /// Builds a fixture root with Tests/Fixtures/make-root.sh and returns its path.
    static func makeRoot(_ options: [String] = []) throws -> String {
        let parent = try temporaryDirectory("root")
        let root = parent + "/root"
        let result = try run(packageRoot + "/Tests/Fixtures/make-root.sh", [root] + options)
        try #require(result.status == 0, "make-root.sh \(options) failed: \(result.stderr)")
        return root
    }

    /// An OCI image layout at WORK/img (tag `tag`) of one layer holding the tree `root`, made by umoci.
    static func ociImage(of root: String, in work: String, tag: String) throws -> String {
        let script = """
            set -e
            umoci init --layout "$1/img" && umoci new --image "$1/img:$3"
            umoci unpack --image "$1/img:$3" "$1/bundle" >/dev/null
            cp -a "$2/." "$1/bundle/rootfs/"
            umoci repack --image "$1/img:$3" "$1/bundle" >/dev/null
            """
        let made = try run("/bin/bash", ["-c", script, "-", work, root, tag])
        try #require(made.status == 0, "\(made.stderr)")
        return work + "/img"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a trusted program (a tool or the built chainwatch) and waits for it.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        // Output goes to files, not pipes, so a large report can never block the child.
        let outPath = NSTemporaryDirectory() + "cw-out-\(UUID().uuidString)"
        let errPath = outPath + ".err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { remove(outPath); remove(errPath) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }

    static func chainwatch(_ arguments: [String]) throws -> Result {
        try run(binary, arguments)
    }

    /// Runs chainwatch with --format json and decodes the document.
    static func scanJSON(_ arguments: [String]) throws -> (Result, [String: Any]) {
        let result = try chainwatch(["--scan-now", "--format", "json"] + arguments)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return (result, try #require(object, "not JSON: \(result.stdout.prefix(400)) / \(result.stderr)"))
    }

    static func findings(_ document: [String: Any]) -> [[String: Any]] {
        document["findings"] as? [[String: Any]] ?? []
    }

    /// A background process that stays up until `stop()`: the fixture sshd or maps-lib.
    final class Background {
        let process = Process()
        private let output = Pipe()

        init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stderrPath: String? = nil) throws {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = output
            if let stderrPath {
                _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
                process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            } else {
                process.standardError = FileHandle.nullDevice
            }
            try process.run()
        }

        /// Sends a signal (SIGHUP, SIGTERM) and, for SIGTERM, waits up to `timeout` seconds for the exit.
        func signal(_ number: Int32) { kill(process.processIdentifier, number) }

        func waitForExit(timeout: Double) -> Int32? {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            return process.isRunning ? nil : process.terminationStatus
        }

        var pid: Int32 { process.processIdentifier }

        /// Waits for a line on stdout (maps-lib prints "ready" once the library is mapped).
        func waitForLine() -> String {
            var line = Data()
            while true {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty || byte == Data("\n".utf8) { break }
                line.append(byte)
            }
            return String(decoding: line, as: UTF8.self)
        }

        /// Waits until the process maps a file whose path contains `fragment`.
        func waitForMapping(_ fragment: String, timeout: Double = 10) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8), maps.contains(fragment) { return true }
                usleep(20_000)
            }
            return false
        }

        func stop() {
            // SIGKILL: the test runner's children may inherit a blocked SIGTERM from its signal mask.
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }

        deinit { stop() }
    }
}

