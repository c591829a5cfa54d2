"""Framework adapters, imported as ``lrsched.adapters.torch`` and ``lrsched.adapters.keras``.

Each adapter imports its framework when it is imported itself, never from ``import lrsched``.
"""
