"""The operator web UI: Jinja2 pages with htmx, assets served locally from npm packages."""
