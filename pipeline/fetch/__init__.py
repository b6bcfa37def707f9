"""The machinery of the ``fetch`` stage: the polite HTTP client, the manifest, saving a file, fetch-reference."""
