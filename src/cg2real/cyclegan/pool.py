"""History of generated images shown to the discriminators (Shrivastava et al., as used by CycleGAN).

Training D on a mix of current and older fakes damps oscillation between G and D. All choices
come from one torch.Generator that is checkpointed with the pool, so a resumed run continues
with exactly the outputs an uninterrupted run would have produced.
"""

from __future__ import annotations

import torch


class ImagePool:
    """Holds up to `size` past fakes; `size` 0 passes batches through unchanged."""

    def __init__(self, size: int, generator: torch.Generator) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.generator = generator
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch shaped like `images`, each item either the new image or a stored one it replaces."""
        if self.size == 0:
            return images
        chosen = []
        for image in images:
            image = image.detach()
            if len(self.images) < self.size:
                self.images.append(image.clone())
                chosen.append(image)
            elif torch.rand(1, generator=self.generator).item() < 0.5:
                index = int(torch.randint(len(self.images), (1,), generator=self.generator).item())
                chosen.append(self.images[index])
                self.images[index] = image.clone()
            else:
                chosen.append(image)
        return torch.stack(chosen)

    def state_dict(self) -> dict:
        """Stored images and random-number state, enough to continue identically after a restart."""
        return {"size": self.size, "images": list(self.images), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if state["size"] != self.size:
            raise ValueError(f"pool state is for size {state['size']}, this pool has size {self.size}")
        self.images = [image.clone() for image in state["images"]]
        self.generator.set_state(state["generator"])
