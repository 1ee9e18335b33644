"""Custom actions, grouped by feature. The action server loads this package (`rasa run actions`)."""
