"""Ketamine-clinic FAQ bot: everything that is not a Rasa file (settings, safety net, data layer, launcher)."""
