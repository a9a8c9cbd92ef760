/// The version of the kiosk and server, shown by `kdsctl status`, reported to
/// the server's status page and stamped into the kiosk image's name.
public enum KDSVersion {
  public static let current = "0.1.0"
}
