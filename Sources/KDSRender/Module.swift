/// KDSRender: see docs/architecture.md for what this module owns.
public enum KDSRenderModule {
  public static let name = "KDSRender"
}
