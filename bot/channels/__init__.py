"""Rasa input channels, adapted for the web widget (see socketio.py for why)."""
