"""HTTP exchanges: transport, deadlines, retries, throttling, and the client that checks every
call against the allow-list of what the connector may ask."""
