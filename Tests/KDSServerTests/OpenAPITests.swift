import Foundation
import KDSServer
import KDSTestSupport
import Testing

/// docs/openapi.yaml and the server's routes agree, both ways.
@Suite("OpenAPI document")
struct OpenAPITests {
  /// `(METHOD, /path/{param})` pairs from the document's `paths:` section:
  /// a path is a two-space-indented key starting with `/`, an operation a
  /// four-space-indented HTTP method under it.
  static func documentedRoutes() throws -> Set<String> {
    let text = try String(
      contentsOfFile: TestPaths.repoRoot + "/docs/openapi.yaml", encoding: .utf8)
    var routes = Set<String>()
    var inPaths = false
    var current: String?
    let methods: Set<String> = ["get", "put", "post", "patch", "delete", "head", "options"]
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = String(raw)
      if line.hasPrefix("paths:") {
        inPaths = true
        continue
      }
      if inPaths, let first = line.first, !first.isWhitespace, first != "#" { inPaths = false }
      guard inPaths else { continue }
      if line.hasPrefix("  /"), line.hasSuffix(":") {
        current = String(line.dropFirst(2).dropLast()).trimmingCharacters(
          in: .init(charactersIn: "'\""))
      } else if line.hasPrefix("    "), !line.hasPrefix("     "), let current {
        let key = line.trimmingCharacters(in: .whitespaces).dropLast()
        if line.hasSuffix(":"), methods.contains(String(key)) {
          routes.insert("\(key.uppercased()) \(current)")
        }
      }
    }
    return routes
  }

  @Test func documentAndRouteTableAgree() throws {
    let documented = try Self.documentedRoutes()
    let served = Set(KDSService.routes.map(\.description))
    #expect(!documented.isEmpty)
    #expect(
      documented.subtracting(served).isEmpty,
      "documented but not served: \(documented.subtracting(served))")
    #expect(
      served.subtracting(documented).isEmpty,
      "served but not documented: \(served.subtracting(documented))")
  }

  /// Every documented operation is routed by the running server (it answers
  /// something other than "no route"), and a path that is not documented is not.
  @Test func runningServerRoutesEveryDocumentedOperation() async throws {
    let f = try Fixture()
    for route in try Self.documentedRoutes().sorted() {
      let parts = route.split(separator: " ")
      let method = String(parts[0])
      let path = parts[1].replacingOccurrences(of: "{id}", with: "X1")
      let body: [UInt8]? = method == "GET" ? nil : Array("{}".utf8)
      let r = try await f.pos.send(
        method, path + (path == "/kds/queue" ? "?station=grill" : ""), body: body)
      #expect(r.status != 405, "\(route): \(r)")
      #expect(!r.text.contains("No route"), "\(route): \(r)")
    }
    let r = try await f.pos.get("/kds/undocumented")
    #expect(r.status == 404 && r.text.contains("No route"))
  }
}
