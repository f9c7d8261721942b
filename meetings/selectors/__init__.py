"""Reads of the meeting domain, one module per entity (``meetings`` decides access; the others
take a meeting the caller already got from it), plus ``api`` (the REST API's reads) and
``notes`` (the export data). Nothing is re-exported here."""
