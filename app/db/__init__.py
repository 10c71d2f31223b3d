"""Tortoise ORM models, connection set-up, migrations and the queries the services need."""
