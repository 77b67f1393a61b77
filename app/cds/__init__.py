"""CDS Hooks 2.0 surface (`/cds-services`): the EHR calls Titrate when baclofen is ordered.

A third HTTP surface beside `web` and `api`: no cookies and no API tokens, only the EHR's
signed JWT (app/ehr/cds_auth.py). Errors answer JSON problems (app/errors.py).
"""
