"""The domain database: SQLAlchemy models, engine/session helpers, Alembic migrations and
repository functions (see docs/architecture.md section 1). Import the API from ``store.repo``."""
