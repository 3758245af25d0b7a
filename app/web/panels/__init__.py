"""The panels of the episode page (therapy sessions with the pain chart, outcome scores), shared
by the checklist page that shows them and by the therapy and outcomes pages."""
