import Engine
import Rules

/// The parts of a SARIF 2.1.0 log chainwatch writes (OASIS SARIF 2.1.0, sections 3.13 on). Optional values that
/// are nil are left out by the encoder.
extension SARIFReporter {
    struct Log: Encodable {
        var schema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
        var version = "2.1.0"
        var runs: [Run]

        enum CodingKeys: String, CodingKey {
            case schema = "$schema", version, runs
        }
    }

    struct Run: Encodable {
        var tool: Tool
        var invocations: [Invocation]
        var originalUriBaseIds: [String: ArtifactLocation]
        var results: [Result]
        var columnKind = "unicodeCodePoints"
        var properties: RunProperties
    }

    struct RunProperties: Encodable {
        var target: String
        var image: ImageReference?
    }

    struct Tool: Encodable {
        var driver: Driver
    }

    struct Driver: Encodable {
        var name: String
        var version: String
        var semanticVersion: String
        var informationUri: String?
        var rules: [ReportingDescriptor]
    }

    struct ReportingDescriptor: Encodable {
        var id: String
        var name: String
        var shortDescription: Message
        var fullDescription: Message
        var help: Message
        var defaultConfiguration: Configuration
        var properties: RuleProperties
    }

    struct Configuration: Encodable {
        var level: String
    }

    struct RuleProperties: Encodable {
        var tags: [String]
        var securitySeverity: String
        var severity: String
        var kind: String

        enum CodingKeys: String, CodingKey {
            case tags, securitySeverity = "security-severity", severity = "chainwatch/severity", kind = "chainwatch/kind"
        }
    }

    struct Message: Encodable {
        var text: String
    }

    struct Result: Encodable {
        var ruleId: String
        var ruleIndex: Int?
        var level: String
        var message: Message
        var locations: [Location]?
        var partialFingerprints: [String: String]
        var properties: ResultProperties

        enum CodingKeys: String, CodingKey {
            case ruleId, ruleIndex, level, message, locations, partialFingerprints, properties
        }

        /// Highest severity first, then by rule, file, archive member and fingerprint: the same for two scans.
        var sortKey: (Int, String, String, String, String) {
            (-(Severity(rawValue: properties.severity)?.rank ?? 0), ruleId,
             locations?.first?.physicalLocation.artifactLocation.uri ?? "", properties.member ?? "",
             partialFingerprints.values.first ?? "")
        }
    }

    struct ResultProperties: Encodable {
        var severity: String
        var securitySeverity: String
        var target: String?
        var member: String?

        enum CodingKeys: String, CodingKey {
            case severity = "chainwatch/severity", securitySeverity = "security-severity", target = "chainwatch/target",
                 member = "chainwatch/archive-member"
        }
    }

    struct Location: Encodable {
        var physicalLocation: PhysicalLocation
    }

    struct PhysicalLocation: Encodable {
        var artifactLocation: ArtifactLocation
    }

    struct ArtifactLocation: Encodable {
        var uri: String?
        var uriBaseId: String?
        var description: Message?
    }

    struct Invocation: Encodable {
        var executionSuccessful: Bool
        var startTimeUtc: String
        var endTimeUtc: String
        var toolExecutionNotifications: [Notification]
    }

    struct Notification: Encodable {
        var level: String
        var message: Message
        var descriptor: Reference
    }

    struct Reference: Encodable {
        var id: String
    }
}
