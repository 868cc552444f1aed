"""tbtwatch: TBT/SPS notification monitoring and early warning for Zhejiang exporters."""

__version__ = "0.1.0"
