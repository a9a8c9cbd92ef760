print("kdsctl: not built yet")
