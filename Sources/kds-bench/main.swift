print("kds-bench: not built yet")
