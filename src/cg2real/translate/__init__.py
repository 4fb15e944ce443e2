"""Translation stage: CG frames through a trained CG->real generator (full or compact)."""
