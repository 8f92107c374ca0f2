"""Reference data of the review domain that officers maintain (YAML): ``priority_counties.yaml``."""
