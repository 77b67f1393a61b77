"""Exports for other systems: FHIR R4 Bundles and iCalendar files of stored plans.

Used by both HTTP surfaces, so it sits between them and the services."""
