"""Image-quality metrics of a CycleGAN run's translations: FID per saved epoch and Inception Score."""
