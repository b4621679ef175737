// Ablation and baseline: masked language modelling alone, on the same anchor spans (positives
// are read but not encoded). DistilRoBERTa, paper settings. Override train_data_path, the
// trainer's cuda_device/use_amp and distributed as in declutr_small.jsonnet.
local declutr = import 'declutr.libsonnet';

declutr.config(transformer_model='distilroberta-base', loss=null, num_positives=1)
