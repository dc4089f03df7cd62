"""Networks: lifter Phi_G, discriminator Phi_D, scale module Phi_S."""

from .networks import Discriminator, Lifter, ResidualMLP, ScaleModule, lift_to_3d

__all__ = ["Discriminator", "Lifter", "ResidualMLP", "ScaleModule", "lift_to_3d"]
