"""cg2real: CG-to-real image translation as training data for a person detector."""

__version__ = "0.1.0"
