"""A seeded generator of synthetic documents with their ground truth."""
