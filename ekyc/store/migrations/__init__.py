"""Alembic migrations of the ekyc schema, run by ``Database.migrate()``."""
