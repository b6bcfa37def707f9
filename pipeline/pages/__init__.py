"""The report's HTML: safe markup and inline SVG charts."""
