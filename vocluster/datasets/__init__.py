"""Simulated data with known truth, and what it measures.

synthetic (Gaia-like cones from presets), stamp_simulator (HST-like and ground-based
stamps), isochrones + injection (ocelot clusters observed like a real field) and
validation (inject, run membership with the user's settings, score: `vocluster validate`).
"""
