from declutr.predictors.declutr import DeCLUTRPredictor

__all__ = ["DeCLUTRPredictor"]
