"""Persistence: SQLAlchemy models, the unit of work, Alembic migrations."""

from flask_sqlalchemy import SQLAlchemy

from service.db.models import Base

db = SQLAlchemy(model_class=Base)
