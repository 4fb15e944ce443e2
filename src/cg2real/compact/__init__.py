"""Compact CG->real generator (paper 001): learned per-filter scales, L1 sparsity, physical pruning.

`generator` holds the scaled ResNet generator of any width, `prune` removes channels by rebuilding
it smaller, `cost` counts parameters, MACs and CPU latency, `finetune` trains the generator alone
against the frozen CycleGAN networks, and `compact` runs the prune + retrain loop.
"""
