"""Pure text helpers: decoding and layout, PDF text, guards against hostile input."""
