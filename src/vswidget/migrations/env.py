"""Alembic environment: runs migrations on the engine vswidget itself uses."""

from alembic import context

from vswidget.extensions import make_engine
from vswidget.models import Base

engine = make_engine(context.config.attributes["database_url"])
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
