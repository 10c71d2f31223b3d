"""UGC Bot runtime: configuration, composition root, adapters."""
