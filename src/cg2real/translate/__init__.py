"""Translation stage: CG frames through a trained generator, FID, compact generators."""
