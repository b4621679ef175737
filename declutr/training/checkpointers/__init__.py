from declutr.training.checkpointers.declutr import DeCLUTRCheckpointer

__all__ = ["DeCLUTRCheckpointer"]
