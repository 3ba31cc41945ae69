"""Alembic environment: runs migrations on the engine vswidget itself uses."""

from alembic import context

from vswidget.server.extensions import begin_writing, make_engine
from vswidget.server.models import metadata

engine = make_engine(context.config.attributes["database_url"])
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            begin_writing(connection)  # on SQLite too, all of a migration or none of it
            context.run_migrations()
finally:
    engine.dispose()
