"""Documents for people: printable schedules and summaries (HTML, PDF), in their language.

Used by both HTTP surfaces, so it sits between them and the services."""
