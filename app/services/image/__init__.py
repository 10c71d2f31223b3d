"""Look edits behind ``ImageEditor``: the local Pillow editor now, a hosted model later."""
