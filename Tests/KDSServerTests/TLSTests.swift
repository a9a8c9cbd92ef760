import Foundation
import KDSTestSupport
import Testing

/// `curl` (the kiosk's own HTTP stack: libcurl, trusting `ca_file` the way
/// `--cacert` does) against the server; returns curl's exit status and output.
func curl(_ arguments: [String]) throws -> (Int32, String) {
  try ServerProcess.run(
    "/usr/bin/curl", ["--silent", "--show-error", "--max-time", "20"] + arguments)
}

@Suite("TLS: kds-server tls self-signed and serve --tls-cert/--tls-key")
struct TLSTests {
  /// Makes a CA and a server certificate in a fresh folder.
  static func makeCertificates(_ options: [String] = []) throws -> String {
    let dir = NSTemporaryDirectory() + "kds-tls-" + UUID().uuidString
    let (status, output) = try ServerProcess.run(
      try ServerProcess.binaryPath(), ["tls", "self-signed", "--out", dir] + options)
    try #require(status == 0, "\(output)")
    return dir
  }

  @Test func selfSignedWritesACAAndAServerCertificateWithPrivateKeys() throws {
    let dir = try Self.makeCertificates()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    for (name, mode) in [
      ("ca.pem", 0o644), ("ca-key.pem", 0o600), ("server.pem", 0o644), ("server-key.pem", 0o600),
    ] {
      let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/" + name)
      #expect(attributes[.posixPermissions] as? Int == mode, "\(name)")
      let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
      #expect(
        text.hasPrefix(
          name.hasSuffix("key.pem") ? "-----BEGIN PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----")
      )
    }
    // Bad names are refused.
    let binary = try ServerProcess.binaryPath()
    let (badIP, ipOutput) = try ServerProcess.run(
      binary, ["tls", "self-signed", "--out", dir + "/x", "--ip", "300.1.1.1"])
    #expect(badIP != 0 && ipOutput.contains("300.1.1.1"), "\(ipOutput)")
    let (badHost, hostOutput) = try ServerProcess.run(
      binary, ["tls", "self-signed", "--out", dir + "/y", "--host", "bad host"])
    #expect(badHost != 0, "\(hostOutput)")
  }

  /// The real server on 127.0.0.1 over HTTPS: curl trusting the CA gets its
  /// answers; without the CA, with a name not in the certificate, or in
  /// plain HTTP, it gets nothing.
  @Test func serverSpeaksHTTPSTrustedThroughTheCA() async throws {
    let dir = try Self.makeCertificates(["--host", "kds.local", "--ip", "127.0.0.1"])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let server = try ServerProcess(arguments: [
      "--tls-cert", dir + "/server.pem", "--tls-key", dir + "/server-key.pem",
    ])
    let token = try server.createToken(device: "pos-1")
    let base = "https://127.0.0.1:\(server.port)"
    let auth = ["-H", "Authorization: Bearer \(token)"]

    let (ok, body) = try curl(["--cacert", dir + "/ca.pem"] + auth + [base + "/pos/orders"])
    #expect(ok == 0, "\(body)")
    #expect(body == "[]")
    let byName = try curl(
      ["--cacert", dir + "/ca.pem", "--resolve", "kds.local:\(server.port):127.0.0.1"]
        + auth + ["https://kds.local:\(server.port)/health"])
    #expect(byName.0 == 0 && byName.1.contains("ok"), "\(byName.1)")

    // Without the CA: the certificate is not trusted (curl: 60).
    let untrusted = try curl(auth + [base + "/pos/orders"])
    #expect(untrusted.0 == 60, "\(untrusted)")
    // A name the certificate does not carry (only kds.local and 127.0.0.1).
    let wrongName = try curl([
      "--cacert", dir + "/ca.pem", "https://localhost:\(server.port)/health",
    ])
    #expect(wrongName.0 != 0, "\(wrongName)")
    // Plain HTTP gets no HTTP answer.
    let plain = try curl([
      "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/health",
    ])
    #expect(plain.0 != 0 || !plain.1.hasPrefix("2"), "\(plain)")
    // Only the trusted requests reached the application.
    let log = server.log()
    #expect(log.components(separatedBy: "request GET /pos/orders status=200").count == 2, "\(log)")
    #expect(!log.contains(token))
    #expect(server.terminate() == 0)
  }

  @Test func badTLSFilesStopTheServerWithAClearMessage() throws {
    let binary = try ServerProcess.binaryPath()
    let dir = try Self.makeCertificates()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (status, output) = try ServerProcess.run(
      binary,
      [
        "serve", "--db", dir + "/db", "--port", "0", "--tls-cert", dir + "/missing.pem",
        "--tls-key", dir + "/server-key.pem",
      ])
    #expect(status != 0)
    #expect(output.contains("missing.pem"), "\(output)")
    #expect(!output.contains("listening"))
    let (alone, aloneOutput) = try ServerProcess.run(
      binary, ["serve", "--db", dir + "/db", "--tls-cert", dir + "/server.pem"])
    #expect(alone != 0 && aloneOutput.contains("--tls-key"), "\(aloneOutput)")
  }
}
