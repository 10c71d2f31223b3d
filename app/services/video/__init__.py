"""Talking videos behind ``TalkingVideoMaker``: the local ffmpeg renderer now, a hosted model later."""
