import KDSTestSupport
import Testing

@Test func fixturesFolderIsFound_KDSKioskTests() {
  #expect(TestPaths.fixtures.hasSuffix("/Tests/Fixtures"))
}
