/// Where the repository and its test data are, found from this file's own path
/// so tests run the same from `swift test`, `make test` or an IDE.
public enum TestPaths {
  /// The repository root (the folder that holds Package.swift).
  public static let repoRoot: String = {
    var path = #filePath
    // .../Tests/KDSTestSupport/Paths.swift -> strip three components
    for _ in 0..<3 {
      if let slash = path.lastIndex(of: "/") { path = String(path[..<slash]) }
    }
    return path
  }()

  /// Tests/Fixtures, the ticket data copied from the design's fixtures.
  public static var fixtures: String { repoRoot + "/Tests/Fixtures" }

  /// A fixture file's full path, e.g. `fixture("tickets-lunch-rush.json")`.
  public static func fixture(_ name: String) -> String { fixtures + "/" + name }
}
