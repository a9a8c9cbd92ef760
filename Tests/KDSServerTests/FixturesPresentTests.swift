import KDSTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Test func fixturesAreInTheRepository_KDSServerTests() throws {
  let fd = open(TestPaths.fixture("tickets-lunch-rush.json"), O_RDONLY)
  #expect(fd >= 0)
  if fd >= 0 { close(fd) }
}
