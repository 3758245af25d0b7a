"""What the web and the CLI both hand out: CSV exports, the plain-text overdue report and the
compliance report. Each takes rows (or the session, to stream them) and returns text; none writes."""
