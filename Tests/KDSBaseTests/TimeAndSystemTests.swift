import Glibc
import KDSSystem
import KDSTime
import Testing

@Suite struct RFC3339Tests {
  @Test func formatsTheContractForm() {
    #expect(RFC3339.format(millis: 0) == "1970-01-01T00:00:00.000Z")
    #expect(RFC3339.format(millis: 1_763_735_700_500) == "2025-11-21T14:35:00.500Z")
    #expect(RFC3339.format(millis: -1) == "1969-12-31T23:59:59.999Z")
    #expect(RFC3339.format(millis: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
  }

  @Test func parsesOffsetsFractionsAndRejectsJunk() {
    #expect(RFC3339.parse("2025-11-21T17:35:00.5+03:00") == 1_763_735_700_500)
    #expect(RFC3339.parse("2025-11-21t14:35:00.123456z") == 1_763_735_700_123)
    #expect(RFC3339.parse("2025-11-21 14:35:00Z") == 1_763_735_700_000)
    for bad in [
      "", "2025-11-21", "2025-13-01T00:00:00Z", "2025-11-21T14:35:00", "2025-11-21T14:35:00.Z",
      "2025-11-21T14:35:00+0300", "2025-11-21T14:35:00Zjunk", "２０２５-11-21T14:35:00Z",
    ] {
      #expect(RFC3339.parse(bad) == nil, "\(bad)")
    }
  }

  @Test func roundTripsOverFourCenturies() {
    var millis: Int64 = -2_208_988_800_000  // 1900
    while millis < 10_413_792_000_000 {  // 2300
      #expect(RFC3339.parse(RFC3339.format(millis: millis)) == millis)
      millis += 86_400_000 * 37 + 3_723_456
    }
  }
}

@Suite struct SystemTests {
  @Test func errorsCarryTheirReason() {
    let result = openRetrying("/nonexistent/kds-test", O_RDONLY)
    guard case .failure(let error) = result else {
      Issue.record("opening a missing file succeeded")
      return
    }
    #expect(error.code == ENOENT)
    #expect(error.description == "open /nonexistent/kds-test: No such file or directory")
    #expect(SystemError("grab", negativeReturn: -EBUSY).reason == errnoText(EBUSY))
  }

  @Test func monotonicClockMovesForward() {
    let a = SystemClock.monotonicNanoseconds()
    let b = SystemClock.monotonicNanoseconds()
    #expect(b >= a)
    #expect(SystemClock.wallMillis() > 1_700_000_000_000)
  }

  @Test func deviceNodesAreSortedByNumber() throws {
    var template = Array("/tmp/kds-nodes-XXXXXX".utf8CString)
    let folder = try #require(mkdtemp(&template).map { String(cString: $0) })
    defer { _ = system("rm -rf '\(folder)'") }
    for name in ["event10", "event2", "event0", "eventX", "mouse0", "event-1"] {
      let fd = open(folder + "/" + name, O_CREAT | O_WRONLY, 0o600)
      #expect(fd >= 0)
      close(fd)
    }
    #expect(
      deviceNodes(in: folder, prefix: "event") == [
        folder + "/event0", folder + "/event2", folder + "/event10",
      ])
    #expect(deviceNodes(in: folder + "/missing", prefix: "event").isEmpty)
  }

  @Test func signalsArriveOnThePipe() throws {
    let pipe = try SignalPipe([SIGUSR1, SIGUSR2])
    #expect(pipe.next() == nil)
    // To the process, not the thread: any thread may take them, and the
    // test runner's threads may block them.
    kill(getpid(), SIGUSR1)
    kill(getpid(), SIGUSR2)
    var received = Set<Int32>()
    var rounds = 0
    while received.count < 2 && rounds < 50 {
      var p = pollfd(fd: pipe.fd, events: Int16(POLLIN), revents: 0)
      _ = poll(&p, 1, 100)
      received.formUnion(pipe.drain())
      rounds += 1
    }
    #expect(received == [SIGUSR1, SIGUSR2])
    #expect(pipe.next() == nil)
  }
}
