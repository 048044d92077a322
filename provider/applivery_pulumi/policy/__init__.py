"""The policy itself: its fields, model and validation, the stored document's normalisation and
the semantic diff.  Nothing here makes a request or knows a Pulumi host."""
