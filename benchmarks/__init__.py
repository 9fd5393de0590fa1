"""Side-by-side benchmark of scm-export against dlt's rest_api source and a hand-written floor."""
