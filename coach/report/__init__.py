"""What people read and export: the therapist's report, sessions.csv, the workbook and FHIR."""
