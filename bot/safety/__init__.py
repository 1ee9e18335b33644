"""Safety net that runs on every visitor message, independent of the trained classifier."""
