"""FINN flow for the face-quality accelerators (workstation side). Importing it makes FINN usable without Vivado
and registers our own FINN layers (`hw.depth_to_space`)."""

from hw.finn_env import prepare_finn

prepare_finn()

from hw.depth_to_space import register  # noqa: E402  (FINN is importable only after prepare_finn)

register()
