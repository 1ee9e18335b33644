"""The web process: demo clinic pages, the embeddable widget and (issue #5) the staff console.

Run with `uvicorn bot.web.app:app --port 8000`; `create_app()` builds a fresh app for tests.
"""
