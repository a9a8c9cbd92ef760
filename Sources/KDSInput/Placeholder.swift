public enum KDSInputModule {}
