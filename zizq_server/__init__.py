"""Zizq server: the Django project and app adapting HTTP and the CLI onto queue_core."""

__version__ = "0.6.1"
