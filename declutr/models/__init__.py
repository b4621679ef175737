from declutr.models.declutr import DeCLUTR

__all__ = ["DeCLUTR"]
