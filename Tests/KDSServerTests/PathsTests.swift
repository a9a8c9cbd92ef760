import KDSTestSupport
import Testing

@Test func fixturesFolderIsFound_KDSServerTests() {
  #expect(TestPaths.fixtures.hasSuffix("/Tests/Fixtures"))
}
