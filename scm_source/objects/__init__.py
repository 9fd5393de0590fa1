"""What the API serves, one module per object (its endpoint, settings, columns, converter and
planner steps), the kinds of object (kinds.py), and the registry of them all (registry.py)."""
