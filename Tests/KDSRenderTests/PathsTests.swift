import KDSTestSupport
import Testing

@Test func fixturesFolderIsFound_KDSRenderTests() {
  #expect(TestPaths.fixtures.hasSuffix("/Tests/Fixtures"))
}
