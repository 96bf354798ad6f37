"""Storage: SQLAlchemy models, Alembic migrations (top-level ``migrations/``), and the
repository functions the pipeline calls."""
