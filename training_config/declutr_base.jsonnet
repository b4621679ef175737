// DeCLUTR-base: RoBERTa-base, the paper's settings (training_config/declutr.libsonnet).
// Override what is yours, for example:
//   --overrides '{"train_data_path": "my_docs.txt"}'                        your corpus
//   --overrides '{"trainer": {"cuda_device": -1, "use_amp": false}}'     the CPU
//   --overrides '{"distributed": {"cuda_devices": [0, 1]}}'              several GPUs
// To start from another encoder, change transformer_model below (hub name or local path).
local declutr = import 'declutr.libsonnet';

declutr.config(transformer_model='roberta-base')
