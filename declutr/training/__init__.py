from declutr.training.checkpointers import DeCLUTRCheckpointer
from declutr.training.distributed import check_distributed_params_before_training
from declutr.training.metrics import RetrievalMetric

# allennlp's `train` refuses, before training, what distributed training cannot finish.
check_distributed_params_before_training()

__all__ = ["DeCLUTRCheckpointer", "RetrievalMetric"]
