import Probes

extension ScanRun {
    /// YARA rules over the code outside files of the target's processes the runtime checks look at (those with
    /// all their mappings read): each mapping alone, bounded per process.
    mutating func scanProcessMemory(_ t: Int) -> [ProcessMemoryScan] {
        guard plan.yara.isActive else { return [] }
        var scans: [ProcessMemoryScan] = []
        for process in targets[t].processes where process.mappings != nil {
            let (found, skips) = plan.yara.scanMemory(of: process, procPath: options.procPath)
            scans += found
            for skip in skips {
                var skip = skip
                if t > 0 { skip.target = targets[t].target.label }
                report.skipped.append(skip)
            }
        }
        return scans
    }
}
