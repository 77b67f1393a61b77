"""Documents for people: printable schedules and summaries (HTML and PDF), in the patient's language.

Used by both HTTP surfaces, so it sits between them and the services."""
