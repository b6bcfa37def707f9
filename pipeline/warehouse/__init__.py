"""The warehouse's table contracts and the named queries over it."""
