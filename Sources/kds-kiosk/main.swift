print("kds-kiosk: not built yet")
