"""case-svc: what the bureaus do with findings — cases through review to a decision, complaints, sanctions, reports."""
