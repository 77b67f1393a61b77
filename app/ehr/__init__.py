"""Inside the EHR (API.md §5.4): FHIR reads, SMART on FHIR, CDS Hooks helpers.

This package talks to the hospital's systems (FHIR server, authorisation server, JWKS) and
maps what they say into Titrate's values. It never touches the database: services call it
before they open their transaction, and both HTTP surfaces reach it only through services.
"""
