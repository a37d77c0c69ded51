"""Simulated data with known truth: realistic clusters injected into real fields."""
