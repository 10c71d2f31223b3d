"""FSM storage: Redis-backed aiogram storage (``storage``) and the embedded redis-server (``embedded``).

Nothing is re-exported here, so the embedded server can be used without importing aiogram.
"""
