// DeCLUTR (Giorgi et al., ACL 2021, https://aclanthology.org/2021.acl-long.72/): the settings of
// the paper's Table 1 and appendix, shared by every config of this folder. Each variant calls
// `declutr.config(...)` and changes only what differs from the paper.
{
  config(
    transformer_model,
    train_data_path='data/documents.txt',  // one document per line (.txt/.jsonl, optionally .gz)
    // Held-out documents, same format (or --overrides '{"validation_data_path": ...}'): every
    // epoch adds validation_retrieval_accuracy, _mrr and the losses on them to the metrics.
    validation_data_path=null,
    num_anchors=2,  // anchors per document
    num_positives=2,  // positives per anchor
    min_span_len=32,
    max_span_len=512,  // documents need 2 * num_anchors * max_span_len = 2048 tokens
    max_length=510,  // subword tokens per span; 510 + <s> + </s> = RoBERTa's 512 positions
    sampling_strategy=null,  // null (adjacent, overlapping or subsumed), "adjacent", "subsuming"
    loss={ type: 'nt_xent', temperature: 0.05 },  // null: masked LM alone
    masked_language_modeling=true,
    // Not in the paper (false, its single pass): true embeds the anchors for the contrastive loss
    // from a second, unmasked pass. On a small budget it lifts DeCLUTR to the contrastive loss
    // alone (docs/reproduction.md, "Small-scale reproduction").
    unmasked_anchors=false,
    batch_size=4,  // documents per batch: 4 * num_anchors = 8 pairs
    num_epochs=1,
    learning_rate=5e-5,
    // The paper's AdamW skips Adam's bias correction, which makes the early updates larger by
    // (1 - 0.9^t) / sqrt(1 - 0.999^t) at step t: x3.2 at step 1, x6.5 at step 10, x1.3 at 1000.
    // Kept for the paper's configs; quickstart (from scratch or pretrained) switches it on.
    correct_bias=false,
    cuda_device=0,  // -1 for the CPU
    use_amp=true,  // needs a GPU: on the CPU override it to false
    seed=13,
  ):: {
    local embedder = if masked_language_modeling then {
      type: 'pretrained_transformer_mlm',
      model_name: transformer_model,
    } else {
      type: 'pretrained_transformer',
      model_name: transformer_model,
      // The unused sentence pooler would get no gradient, which DDP refuses.
      transformer_kwargs: { add_pooling_layer: false },
    },

    random_seed: seed,
    numpy_seed: seed,
    pytorch_seed: seed,
    vocabulary: { type: 'empty' },  // the transformer brings its own
    train_data_path: train_data_path,
    [if validation_data_path != null then 'validation_data_path']: validation_data_path,
    dataset_reader: {
      type: 'declutr',
      tokenizer: { type: 'pretrained_transformer', model_name: transformer_model },
      num_anchors: num_anchors,
      num_positives: num_positives,
      min_span_len: min_span_len,
      max_span_len: max_span_len,
      max_length: max_length,
      sampling_strategy: sampling_strategy,
    },
    local data_loader = {
      type: 'declutr_streaming',  // streams the corpus, yet knows the epoch's length
      batch_size: batch_size,
      max_instances_in_memory: batch_size * 256,
    },
    data_loader: data_loader,
    // Validation spans are seeded by each document's line number, not by the epoch or the run's
    // seed, and not shuffled: every epoch and every run sees the same validation pairs.
    validation_data_loader: data_loader { deterministic: true },
    model: {
      type: 'declutr',
      text_field_embedder: { token_embedders: { tokens: embedder } },
      loss: loss,
      masked_language_modeling: masked_language_modeling,
      [if masked_language_modeling && loss != null then 'unmasked_anchors']: unmasked_anchors,
      // Not in the paper: spans are encoded in two groups of similar length, each padded to its
      // own longest span. Same results, less compute on padding (scripts/benchmarks/training_throughput.py).
      length_groups: 2,
    },
    trainer: {
      num_epochs: num_epochs,
      cuda_device: cuda_device,
      use_amp: use_amp,
      grad_norm: 1.0,
      // Its bias-before-normalization heuristic misfires on every pretrained transformer.
      run_confidence_checks: false,
      optimizer: {
        type: 'huggingface_adamw',
        lr: learning_rate,
        eps: 1e-06,
        weight_decay: 0.1,
        correct_bias: correct_bias,
        // No weight decay for biases and LayerNorm weights.
        parameter_groups: [
          [['bias', 'LayerNorm\\.weight', 'layer_norm\\.weight'], { weight_decay: 0.0 }],
        ],
      },
      // allennlp supplies num_epochs and, from the declutr_streaming loader, steps per epoch.
      learning_rate_scheduler: { type: 'slanted_triangular' },
      // allennlp's checkpointer, saving the random states too: `--recover` resumes exactly.
      checkpointer: { type: 'declutr' },
      // The default console logger prints the first batch's tensors: hundreds of lines.
      callbacks: [{ type: 'console_logger', should_log_inputs: false }],
    },
  },
}
