"""The domain database: SQLAlchemy models, engine/session helpers, Alembic migrations and
repository functions (see DESIGN.md sections 2 and 4). Import the API from ``store.repo``."""
