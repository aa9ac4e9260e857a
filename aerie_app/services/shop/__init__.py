"""The geometry-aware shop: machines, stock, fit, weight budget, cut list, changed and duplicate geometry."""
