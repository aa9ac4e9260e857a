"""Aerie: part management for robotics fabrication shops."""
