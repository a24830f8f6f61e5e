"""The FastAPI application: JSON API routers and HTML pages."""
