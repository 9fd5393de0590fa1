"""API objects to warehouse rows: declared columns, values read and checked, arrow batches."""
