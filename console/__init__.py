"""The manager's console: server-rendered pages (Jinja2 + htmx) over the public API."""
