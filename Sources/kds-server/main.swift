print("kds-server: not built yet")
