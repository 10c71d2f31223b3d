"""Pure rules of UGC Bot: no aiogram, no Tortoise, no I/O."""
