"""The HTTP service: a FastAPI app (``api.app.create_app``) over the ``ekyc`` domain.

Errors are RFC 9457 problem+json with a stable ``code`` (``api.errors``); request and
response bodies are pydantic models (``api.schemas``).
"""
