"""Experts service: the expert registry, the key-contact pool, grassroots demands and matching experts to them.
"""
