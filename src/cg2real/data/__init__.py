"""Data stage: read BDD100K and SYNTHIA, filter, crop, export, and make the demo sets."""
