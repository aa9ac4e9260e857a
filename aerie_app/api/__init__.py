"""The REST API: FastAPI routers over the services, mounted into the Reflex app under /api."""
