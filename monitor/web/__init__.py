"""The web side: dashboard pages, the JSON API, health and metrics (FastAPI).

``settings`` is imported by the configuration and must stay free of FastAPI imports; the
app itself is built by ``monitor.web.app.create_app``."""
