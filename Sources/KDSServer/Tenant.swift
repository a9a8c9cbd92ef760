/// The restaurant the current request works for (issue 16's tenancy).
///
/// A kds-server database may hold several restaurants; a token belongs to one
/// and sees only its data. The server sets `Tenant.current` for the rest of a
/// request once it knows the token's restaurant
/// (`Tenant.$current.withValue(id) { … }`), and every transaction a backend
/// starts reads it when it starts (before it hops to its connection's
/// thread): PostgreSQL runs the transaction in that restaurant's schema
/// (PostgresBackend.swift); SQLite keeps one restaurant, the default one.
public enum Tenant {
  /// The id of the restaurant every database has from its first migration.
  public static let defaultRestaurant: Int64 = 1

  /// The restaurant of the current task (the default one unless set).
  @TaskLocal public static var current: Int64 = defaultRestaurant
}
