// Ablation: the contrastive objective alone (no masked LM), DistilRoBERTa, paper settings.
// Override train_data_path, the trainer's cuda_device/use_amp and distributed as in
// declutr_small.jsonnet.
local declutr = import 'declutr.libsonnet';

declutr.config(transformer_model='distilroberta-base', masked_language_modeling=false)
