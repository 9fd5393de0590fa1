"""Settings checked before any request: generic validators, endpoints, and setting names."""
