import Crypto

/// Secrets every server process of one database shares (table
/// `server_secrets`, never shown by any command): today the key that signs
/// the status page's pairing form, so that the form one replica served is
/// good on the other (docs/deploy.md).
enum ServerSecrets {
  static let migrationName = "v7-server-secrets"
  static let createTable = """
    CREATE TABLE server_secrets (name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)
    """

  /// The form key: 32 random bytes in hex, made by the first process that
  /// needs it; a process starting at the same time finds the first one's.
  /// (The hex text itself is the HMAC key: any length is a good key.)
  static func formKey(in store: ServerStore) async throws -> SymmetricKey {
    let fresh = DeviceTokens.randomHex(bytes: 32)
    let hex = try await store.write { db -> String in
      try db.execute(
        sql:
          "INSERT INTO server_secrets (name, value) VALUES ('form_key', ?) ON CONFLICT DO NOTHING",
        arguments: [fresh])
      return try db.fetchOne(
        String.self, sql: "SELECT value FROM server_secrets WHERE name = 'form_key'") ?? fresh
    }
    return SymmetricKey(data: Array(hex.utf8))
  }
}
