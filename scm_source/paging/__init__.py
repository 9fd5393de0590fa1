"""Every row of a list: the pages of one query, and the plan of queries that reaches what one
query cannot."""
