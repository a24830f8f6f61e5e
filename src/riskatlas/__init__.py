"""Risk Atlas: a shared catalog of regional security risks and the measures that prevent them."""

__version__ = "0.1.0"
