import Engine
import Logging
import Rules
import ServiceLifecycle

/// Runs the daemon until SIGTERM or SIGINT: the scan loop and the watchdog in one service group, sharing what the
/// running scan is doing (the watchdog is fed only while it makes progress).
public enum DaemonRunner {
    public static func run(configuration: DaemonConfiguration, rulePaths: [String], rules: RuleSet, baseline: Baseline? = nil) async throws {
        var logger = Logger(label: "chainwatch")
        logger.logLevel = .warning
        let activity = ScanActivity()
        let scan = ScanService(configuration: configuration, rulePaths: rulePaths, rules: rules, baseline: baseline, activity: activity)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: scan),
                .init(service: WatchdogService(activity: activity), successTerminationBehavior: .ignore),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}
