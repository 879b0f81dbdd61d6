"""to_grayscale returning the luma repeated over three channels (N, 3, H, W) instead of one."""

TASK = "to_grayscale"
CELL = "to_grayscale_solution"
PATCH = [
    (
        'gray = (images.to(compute) * weights).sum(dim=-3, keepdim=True)',
        'gray = (images.to(compute) * weights).sum(dim=-3, keepdim=True).expand_as(images)',
    ),
]
