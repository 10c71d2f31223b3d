"""Object storage behind ``ObjectStorage``: a local directory now, R2 later; keys by user and generation."""
