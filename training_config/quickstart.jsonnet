// A few minutes on two CPU cores: short spans, a small encoder, no AMP. The encoder is set once,
// for the tokenizer and the embedder, by the environment variable DECLUTR_MODEL (a hub name or a
// local path; allennlp passes environment variables to jsonnet), as `declutr demo` does:
//   DECLUTR_MODEL=distilroberta-base allennlp train training_config/quickstart.jsonnet -s out \
//     --include-package declutr --overrides '{"train_data_path": "my_docs.txt"}'
local declutr = import 'declutr.libsonnet';

declutr.config(
  transformer_model=std.extVar('DECLUTR_MODEL'),
  // Spans of a sentence's length: from scratch they keep the base's STS where the paper's 32-512
  // lose it (docs/comparison.md, S1: STS-B test 44.6 against 37.9, chosen on dev data).
  min_span_len=16,
  max_span_len=64,  // documents need 2 * 2 * 64 = 256 tokens
  max_length=64,
  batch_size=8,
  // For the demo's fresh encoder, with bias correction and the schedule's warm-up (the first 10%
  // of the steps): 2e-3 scored best of 5e-4, 1e-3 and 2e-3 on a validation split of the training
  // articles (scripts/benchmarks/demo_from_scratch_rate.py; log in
  // scripts/benchmarks/results/demo_from_scratch_rate.log). A pretrained encoder needs far less:
  // `declutr demo --model` trains at 5e-5.
  learning_rate=2e-3,
  correct_bias=true,
  cuda_device=-1,
  use_amp=false,
)
