import Foundation
import KDSSync
import KDSTestSupport
import Testing

/// The kiosk's side of issue 12.6: its HTTP client (libcurl) trusts a
/// server made with `kds-server tls self-signed` through `ca_file`, and
/// nothing else.
@Suite struct KioskTLSTests {
  @Test func kioskClientTrustsTheServerThroughItsCAFile() throws {
    let dir = NSTemporaryDirectory() + "kds-kiosk-tls-" + UUID().uuidString
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let binary = try ServerProcess.binaryPath()
    let (status, output) = try ServerProcess.run(binary, ["tls", "self-signed", "--out", dir])
    try #require(status == 0, "\(output)")
    let server = try ServerProcess(arguments: [
      "--tls-cert", dir + "/server.pem", "--tls-key", dir + "/server-key.pem",
    ])
    let token = try server.createToken(device: "kiosk-grill", stations: ["grill"])
    let base = "https://127.0.0.1:\(server.port)"

    let trusting = CurlHTTPClient(
      config: HTTPClientConfig(baseURL: base, token: token, caFile: dir + "/ca.pem"))
    let answer = try trusting.send(method: "GET", path: "/kds/queue?station=grill").get()
    #expect(answer.status == 200)
    #expect(String(decoding: answer.body, as: UTF8.self) == "[]")

    let untrusting = CurlHTTPClient(config: HTTPClientConfig(baseURL: base, token: token))
    guard case .failure(let failure) = untrusting.send(method: "GET", path: "/health") else {
      Issue.record("a server signed by an unknown CA was trusted")
      return
    }
    #expect(failure.kind == .tls, "\(failure)")
    #expect(server.terminate() == 0)
  }
}
