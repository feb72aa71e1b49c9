"""Records between machines: bundles, keys, the merge, the PostgreSQL store, sync, and the door that checks what arrives."""
