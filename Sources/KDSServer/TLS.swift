import Crypto
import HummingbirdTLS
import KDSSystem
import SwiftASN1
import X509

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// HTTPS for `kds-server serve --tls-cert FILE --tls-key FILE`.
enum ServerTLS {
  /// The TLS configuration from PEM files: the certificate (chain, the
  /// server's first) and its private key.
  static func configuration(certificatePath: String, keyPath: String) throws(TLSSetupError)
    -> TLSConfiguration
  {
    let chain: [NIOSSLCertificate]
    let key: NIOSSLPrivateKey
    do {
      chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
    } catch {
      throw TLSSetupError("cannot read the certificate \(certificatePath): \(error)")
    }
    guard !chain.isEmpty else {
      throw TLSSetupError("no certificate in \(certificatePath)")
    }
    do {
      key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
    } catch {
      throw TLSSetupError("cannot read the private key \(keyPath): \(error)")
    }
    var configuration = TLSConfiguration.makeServerConfiguration(
      certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    return configuration
  }
}

public struct TLSSetupError: Error, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}

/// `kds-server tls self-signed`: a private CA and a server certificate it
/// signed, for a restaurant without a PKI. The kiosks trust the CA
/// (`ca_file` in kiosk.conf); the CA's key can stay offline.
public enum SelfSignedTLS {
  /// The files written, in `directory`.
  public static let files = (
    ca: "ca.pem", caKey: "ca-key.pem", certificate: "server.pem", key: "server-key.pem"
  )

  /// Writes the four files (keys mode 0600, certificates 0644) and returns
  /// their paths. `hosts` and `ips` are the server certificate's names.
  /// `reuseCA`: when `ca.pem` and `ca-key.pem` are in `directory`, only a
  /// new server certificate is made, signed by that CA (new names, same
  /// trust: the kiosks' `ca_file` stays good).
  public static func make(
    directory: String, hosts: [String], ips: [String], validDays: Int = 3650,
    now: Date = Date(), reuseCA: Bool = false
  ) throws -> [String] {
    guard !hosts.isEmpty || !ips.isEmpty else {
      throw TLSSetupError("give at least one --host or --ip")
    }
    var names: [GeneralName] = []
    for host in hosts {
      guard validHostName(host) else { throw TLSSetupError("'\(host)' is not a host name") }
      names.append(.dnsName(host))
    }
    for ip in ips {
      guard let bytes = ipBytes(ip) else { throw TLSSetupError("'\(ip)' is not an IP address") }
      names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
    }
    let notBefore = now.addingTimeInterval(-3600)
    let notAfter = now.addingTimeInterval(Double(validDays) * 86_400)

    let path = { (name: String) in directory + "/" + name }
    var existing: (key: P256.Signing.PrivateKey, certificate: Certificate)? = nil
    if reuseCA, let keyText = try? readText(path(files.caKey)),
      let caText = try? readText(path(files.ca))
    {
      do {
        existing = (
          try P256.Signing.PrivateKey(pemRepresentation: keyText),
          try Certificate(pemEncoded: caText)
        )
      } catch {
        throw TLSSetupError("cannot read the CA in \(directory): \(error)")
      }
    }
    let caKey = existing?.key ?? P256.Signing.PrivateKey()
    let caName = try DistinguishedName {
      OrganizationName("kds-server")
      CommonName("kds-server restaurant CA")
    }
    let ca =
      try existing?.certificate
      ?? Certificate(
        version: .v3, serialNumber: Certificate.SerialNumber(),
        publicKey: Certificate.PublicKey(caKey.publicKey), notValidBefore: notBefore,
        notValidAfter: notAfter, issuer: caName, subject: caName,
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
          Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
          Critical(KeyUsage(keyCertSign: true, cRLSign: true))
          SubjectKeyIdentifier(hash: Certificate.PublicKey(caKey.publicKey))
        },
        issuerPrivateKey: Certificate.PrivateKey(caKey))

    let serverKey = P256.Signing.PrivateKey()
    let serverName = try DistinguishedName {
      OrganizationName("kds-server")
      CommonName(hosts.first ?? ips[0])
    }
    let server = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(),
      publicKey: Certificate.PublicKey(serverKey.publicKey), notValidBefore: notBefore,
      notValidAfter: min(notAfter, ca.notValidAfter), issuer: ca.subject, subject: serverName,
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true))
        try ExtendedKeyUsage([.serverAuth])
        SubjectAlternativeNames(names)
        SubjectKeyIdentifier(hash: Certificate.PublicKey(serverKey.publicKey))
        AuthorityKeyIdentifier(
          keyIdentifier: try ca.extensions.subjectKeyIdentifier?.keyIdentifier)
      },
      issuerPrivateKey: Certificate.PrivateKey(caKey))

    if existing == nil {
      try writeFile(path(files.caKey), caKey.pemRepresentation, mode: 0o600)
      try writeFile(path(files.ca), try ca.serializeAsPEM().pemString, mode: 0o644)
    }
    try writeFile(path(files.key), serverKey.pemRepresentation, mode: 0o600)
    try writeFile(path(files.certificate), try server.serializeAsPEM().pemString, mode: 0o644)
    return [files.ca, files.caKey, files.certificate, files.key].map(path)
  }

  /// The SHA-256 fingerprint of the first certificate in PEM file `path`
  /// (of its DER bytes, as browsers show it): `AB:CD:...`.
  public static func fingerprint(path: String) throws -> String {
    let text = try readText(path)
    guard let begin = text.firstRange(of: "-----BEGIN CERTIFICATE-----"),
      let end = text[begin.upperBound...].firstRange(of: "-----END CERTIFICATE-----")
    else { throw TLSSetupError("no certificate in \(path)") }
    let body = text[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
    guard let der = Data(base64Encoded: String(body)) else {
      throw TLSSetupError("the certificate in \(path) is not valid base64")
    }
    let digits = Array("0123456789ABCDEF")
    return SHA256.hash(data: der).map { "\(digits[Int($0 >> 4)])\(digits[Int($0 & 15)])" }
      .joined(separator: ":")
  }

  static func readText(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw TLSSetupError("cannot read \(path): \(errnoText(errno))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16_384)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw TLSSetupError("cannot read \(path): \(errnoText(errno))") }
      if n == 0 { break }
      bytes += buffer[0..<n]
      guard bytes.count <= 1 << 20 else { throw TLSSetupError("\(path) is too large") }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func validHostName(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.count <= 253
      && s.utf8.allSatisfy { c in
        (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 45
          || c == 46 || c == 42
      }
  }

  /// The 4 or 16 bytes of an IPv4 or IPv6 address.
  static func ipBytes(_ text: String) -> [UInt8]? {
    var v4 = in_addr()
    if inet_pton(AF_INET, text, &v4) == 1 {
      return withUnsafeBytes(of: &v4) { Array($0) }
    }
    var v6 = in6_addr()
    if inet_pton(AF_INET6, text, &v6) == 1 {
      return withUnsafeBytes(of: &v6) { Array($0) }
    }
    return nil
  }

  /// Writes `text` to a new file created with `mode` (an existing file is
  /// replaced, and its mode set to `mode` too).
  static func writeFile(_ path: String, _ text: String, mode: mode_t) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard fd >= 0 else {
      throw TLSSetupError("cannot write \(path): \(errnoText(errno))")
    }
    defer { close(fd) }
    guard fchmod(fd, mode) == 0 else {
      throw TLSSetupError("cannot set the mode of \(path): \(String(cString: strerror(errno)))")
    }
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        throw TLSSetupError("cannot write \(path): \(errnoText(errno))")
      }
      offset += n
    }
    guard fsync(fd) == 0 else { throw TLSSetupError("cannot sync \(path)") }
  }
}
