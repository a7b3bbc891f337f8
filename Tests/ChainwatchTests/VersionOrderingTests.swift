import Testing
@testable import Engine

@Suite struct VersionOrderingTests {
    @Test(arguments: [
        ("5.6.1-1", "5.6.1+really5.4.5-1", -1),
        ("5.6.0-0.2", "5.6.1-1", -1),
        ("1:5.6.1-1", "5.6.1-1", 1),
        ("5.6.1~rc1-1", "5.6.1-1", -1),
        ("5.4.1-1", "5.4.1-1", 0),
        ("0:5.4.1-1", "5.4.1-1", 0),
        ("5.4.1-0.2", "5.4.1-0.10", -1),
        ("1.0a", "1.0+", -1),
        ("2.30-1", "2.3-1", 1),
    ])
    func debianOrdering(_ a: String, _ b: String, _ expected: Int) {
        #expect(DebianVersion.compare(a, b).signum() == expected)
        #expect(DebianVersion.compare(b, a).signum() == -expected)
    }

    @Test(arguments: [
        ("5.6.1-1.fc41", "5.6.1-2.fc41", -1),
        ("5.6.1.revertto5.4-3.2", "5.6.1-1.1", 1),
        ("1.0~rc1", "1.0", -1),
        ("1.0^git1", "1.0", 1),
        ("1:1.0", "2.0", 1),
        ("1.10", "1.9", 1),
        ("5.6.1-r2", "5.6.1-r1", 1),
    ])
    func rpmOrdering(_ a: String, _ b: String, _ expected: Int) {
        #expect(RPMVersion.compare(a, b).signum() == expected)
        #expect(RPMVersion.compare(b, a).signum() == -expected)
    }
}
