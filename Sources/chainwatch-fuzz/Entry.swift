#if CHAINWATCH_FUZZING
#if canImport(Glibc)
import Glibc
#endif

/// The target, chosen once from CHAINWATCH_FUZZ_TARGET.
private let selected: @Sendable ([UInt8]) -> Void = {
    let name = getenv("CHAINWATCH_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTargets.all[name] else {
        print("CHAINWATCH_FUZZ_TARGET must be one of \(FuzzTargets.all.keys.sorted())")
        exit(2)
    }
    return target
}()

/// libFuzzer's driver. SwiftPM links an executable target's entry as `<module>_main` (aliased to main), so the
/// harness provides that entry and hands control to libFuzzer, whose own main is then never linked in.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("chainwatch_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOne(data, size) }
}

/// libFuzzer's C entry point: the one place this harness touches a raw pointer; it is copied into an array at once.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected(bytes)
    return 0
}
#else
import Glibc
import HostIO

/// Without the fuzzer: `chainwatch-fuzz TARGET FILE...` replays inputs through a target (crash reproduction).
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTargets.all[name] else {
            print("usage: chainwatch-fuzz {\(FuzzTargets.all.keys.sorted().joined(separator: "|"))} FILE...")
            exit(2)
        }
        for file in arguments.dropFirst() {
            guard let bytes = try? FileSystem.readBytes(file, limit: 64 << 20) else { continue }
            target(bytes)
        }
        print("replayed \(arguments.count - 1) inputs through \(name)")
    }
}
#endif
