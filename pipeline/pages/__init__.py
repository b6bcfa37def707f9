"""The report's HTML: Jinja2 templates (``templates/``), safe markup and inline SVG charts."""
