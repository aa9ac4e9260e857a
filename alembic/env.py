"""Alembic environment: the URL comes from Aerie's settings unless the caller passes one."""

from __future__ import annotations

from sqlmodel import SQLModel

from aerie_app import models  # registers the tables
from aerie_app.db import make_engine
from aerie_app.settings import get_settings
from alembic import context

config = context.config
url = config.attributes.get("database_url") or get_settings().resolved_database_url
# Tables of the data model, and working state (throttle counts) that backups leave out.
target_metadata = [SQLModel.metadata, models.EPHEMERAL]
# Created by hand in migrations (search index, composite index): not part of the models.
MANUAL = ("part_search", "ix_part_category_created", "ix_part_search_trgm")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    return not (name or "").startswith(MANUAL)


def run_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
