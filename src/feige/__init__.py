"""Feige: customer-service instant messaging for e-commerce marketplaces."""

__version__ = "0.1.0"
