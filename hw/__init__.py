"""FINN flow for the face-quality accelerators (workstation side). Importing it makes FINN usable without Vivado."""

from hw.finn_env import prepare_finn

prepare_finn()
