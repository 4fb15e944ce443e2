"""CycleGAN for CG-to-real translation: networks, losses, image pool, data sharding and LR schedule."""
