"""Pure rules: no Flask, no database session. Callers pass today's date in."""
