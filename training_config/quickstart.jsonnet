// A few minutes on two CPU cores: short spans, a small encoder, no AMP. `make demo` uses it with
//   --overrides '{"train_data_path": ..., "dataset_reader.tokenizer.model_name": MODEL,
//                 "model.text_field_embedder.token_embedders.tokens.model_name": MODEL}'
local declutr = import 'declutr.libsonnet';

declutr.config(
  transformer_model='distilroberta-base',
  min_span_len=16,
  max_span_len=64,  // documents need 2 * 2 * 64 = 256 tokens
  max_length=64,
  batch_size=8,
  learning_rate=5e-4,  // a small, freshly initialised encoder learns faster at a higher rate
  cuda_device=-1,
  use_amp=false,
)
