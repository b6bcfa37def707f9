"""The pipeline's stages: one module per DVC stage and CLI command of the same name (plus ``extract`` and ``merge``)."""
