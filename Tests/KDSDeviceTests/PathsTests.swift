import KDSTestSupport
import Testing

@Test func fixturesFolderIsFound_KDSDeviceTests() {
  #expect(TestPaths.fixtures.hasSuffix("/Tests/Fixtures"))
}
