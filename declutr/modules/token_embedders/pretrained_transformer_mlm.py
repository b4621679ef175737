import inspect
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from allennlp.common import cached_transformers
from allennlp.modules.token_embedders import TokenEmbedder
from transformers import AutoConfig, AutoModelForMaskedLM

from declutr.modules.masking import IGNORE_INDEX, mask_tokens


@TokenEmbedder.register("pretrained_transformer_mlm")
class PretrainedTransformerMLMEmbedder(TokenEmbedder):
    """A Hugging Face encoder loaded with its masked-language-modelling head.

    Registered as a `TokenEmbedder` with name "pretrained_transformer_mlm".

    As a `TokenEmbedder`, `forward` returns the encoder's last hidden states and never runs the
    head. `masked_lm` masks its input and returns both the hidden states of the masked input and
    the masked-LM loss from one pass, which is how DeCLUTR trains both objectives on the anchors.
    Any architecture with an `AutoModelForMaskedLM` class works (BERT, RoBERTa, DistilBERT,
    MPNet, ...). The encoder's sentence pooler is not loaded: it is unused, and under
    `DistributedDataParallel` parameters without gradients are an error.

    # Parameters

    model_name : `str`
        A Hugging Face hub name (`distilroberta-base`) or a local directory.
    load_weights : `bool`, optional (default=`True`)
        `False` builds the architecture with random weights (useful when an archive's weights
        are about to be loaded over them).
    transformer_kwargs : `Dict[str, Any]`, optional
        Passed to `from_pretrained` / `AutoConfig.from_pretrained`.
    """

    def __init__(
        self,
        model_name: str,
        load_weights: bool = True,
        transformer_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        kwargs = transformer_kwargs or {}
        if load_weights:
            self.mlm_model = AutoModelForMaskedLM.from_pretrained(model_name, **kwargs)
        else:
            config = AutoConfig.from_pretrained(model_name, **kwargs)
            self.mlm_model = AutoModelForMaskedLM.from_config(config)
        tokenizer = cached_transformers.get_tokenizer(model_name)
        if tokenizer.mask_token_id is None:
            raise ValueError(f"The tokenizer of {model_name} has no mask token; MLM needs one.")
        self.mask_token_id: int = tokenizer.mask_token_id
        self.vocab_size: int = self.mlm_model.config.vocab_size
        special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)
        self.register_buffer("special_token_ids", special_ids, persistent=False)
        self._accepts_type_ids = (
            "token_type_ids" in inspect.signature(self.mlm_model.forward).parameters
        )
        self._lm_head = _find_lm_head(self.mlm_model)

    def get_output_dim(self) -> int:
        return self.mlm_model.config.hidden_size

    def _inputs(
        self, token_ids: torch.Tensor, mask: torch.Tensor, type_ids: Optional[torch.Tensor]
    ) -> Dict[str, torch.Tensor]:
        inputs = {"input_ids": token_ids, "attention_mask": mask}
        if self._accepts_type_ids and type_ids is not None:
            inputs["token_type_ids"] = type_ids
        return inputs

    def forward(
        self,
        token_ids: torch.Tensor,
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Hidden states, shape `(batch_size, seq_len, hidden_size)`, of `token_ids`
        (`(batch_size, seq_len)`) where `mask` (`(batch_size, seq_len)`) is true."""
        outputs = self.mlm_model.base_model(**self._inputs(token_ids, mask, type_ids))
        return outputs.last_hidden_state

    def freeze_lm_head(self) -> None:
        """Stop training the masked-LM head (for models that use the encoder alone): its
        parameters would get no gradient, which `DistributedDataParallel` refuses."""
        encoder_parameters = {id(p) for p in self.mlm_model.base_model.parameters()}
        for parameter in self.mlm_model.parameters():
            if id(parameter) not in encoder_parameters:
                parameter.requires_grad_(False)

    def mask_inputs(
        self,
        token_ids: torch.Tensor,
        mask: torch.Tensor,
        mlm_probability: float = 0.15,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mask `mlm_probability` of the non-special, non-padding tokens (80/10/10), drawing
        from `generator` (on `token_ids`' device) if given.

        Returns `(masked_token_ids, labels)`, both `(batch_size, seq_len)`; labels hold the
        original ids of selected tokens and `IGNORE_INDEX` elsewhere.
        """
        maskable = mask.bool() & ~torch.isin(token_ids, self.special_token_ids)
        return mask_tokens(
            token_ids, maskable, self.mask_token_id, self.vocab_size, mlm_probability, generator
        )

    def masked_lm_loss_sum(
        self,
        masked_token_ids: torch.Tensor,
        mask: torch.Tensor,
        labels: torch.Tensor,
        type_ids: Optional[torch.Tensor] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """One pass over already-masked input.

        Returns `(hidden_states, loss_sum)`: the last hidden states, `(batch_size, seq_len,
        hidden_size)`, and the cross-entropy summed over the labelled tokens (a sum, so that
        chunks of a batch add up; divide by the number of labelled tokens for the mean).
        """
        if self._lm_head is None:  # an architecture whose head we cannot run on its own
            outputs = self.mlm_model(
                **self._inputs(masked_token_ids, mask, type_ids), output_hidden_states=True
            )
            # Shape: (batch_size * seq_len, vocab_size)
            logits = outputs.logits.view(-1, outputs.logits.size(-1))
            loss_sum = torch.nn.functional.cross_entropy(
                logits.float(), labels.view(-1), ignore_index=IGNORE_INDEX, reduction="sum"
            )
            return outputs.hidden_states[-1], loss_sum
        hidden_states = self.mlm_model.base_model(
            **self._inputs(masked_token_ids, mask, type_ids)
        ).last_hidden_state
        # The vocabulary projection is as large as the encoder (50k x 768 for RoBERTa): run the
        # head on the ~15% labelled positions only, not on every token as the HF model does.
        selected = labels.ne(IGNORE_INDEX)
        # Shape: (num_labelled, vocab_size)
        logits = self._lm_head(hidden_states[selected])
        loss_sum = torch.nn.functional.cross_entropy(
            logits.float(), labels[selected], reduction="sum"
        )
        return hidden_states, loss_sum

    def masked_lm(
        self,
        token_ids: torch.Tensor,
        mask: torch.Tensor,
        type_ids: Optional[torch.Tensor] = None,
        mlm_probability: float = 0.15,
        pool: Optional[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = None,
        run: Optional[Callable[..., Tuple[torch.Tensor, List[torch.Tensor]]]] = None,
        generator: Optional[torch.Generator] = None,
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mask the input and run the model on it: `(outputs, mean masked-LM loss)`, the loss 0
        (with a gradient) if no token was selected.

        The whole batch is masked at once, so how the passes cover it changes nothing.

        # Parameters

        token_ids, mask, type_ids
            As in `forward`, `(batch_size, seq_len)`.
        mlm_probability : `float`, optional (default=`0.15`)
            As in `mask_inputs`.
        pool : `Callable`, optional (default=`None`)
            Applied to each pass's hidden states and mask (the model's pooling): `outputs` are
            then its results, else the hidden states, `(batch_size, seq_len, hidden_size)`.
        run : `Callable`, optional (default=`None`)
            How passes cover the batch, as a strategy of `declutr.models.grouping`:
            `run(step, mask, masked_ids, mask, labels, type_ids)` returns the per-row outputs and
            the loss sum of every pass. `None`: one pass over the whole batch.
        generator : `torch.Generator`, optional (default=`None`)
            Draws the masks, as in `mask_inputs`.
        """
        masked_ids, labels = self.mask_inputs(token_ids, mask, mlm_probability, generator)

        def step(
            ids: torch.Tensor, step_mask: torch.Tensor, step_labels: torch.Tensor, types: Any
        ) -> Tuple[torch.Tensor, torch.Tensor]:
            hidden_states, loss_sum = self.masked_lm_loss_sum(ids, step_mask, step_labels, types)
            return (hidden_states if pool is None else pool(hidden_states, step_mask)), loss_sum

        if run is None:
            outputs, loss_sum = step(masked_ids, mask, labels, type_ids)
            loss_sums = [loss_sum]
        else:
            outputs, loss_sums = run(step, mask, masked_ids, mask, labels, type_ids)
        num_masked = labels.ne(IGNORE_INDEX).sum().clamp(min=1)
        return outputs, torch.stack(loss_sums).sum() / num_masked


def _find_lm_head(mlm_model: torch.nn.Module) -> Optional[torch.nn.Module]:
    """The module that maps hidden states to vocabulary logits, when the masked LM is its base
    model plus that one module (BERT's `cls`, RoBERTa's and MPNet's `lm_head`, ...); `None` for
    architectures that spread the head over several modules (DistilBERT)."""
    base_model = mlm_model.base_model
    others = [child for child in mlm_model.children() if child is not base_model]
    parameterised = [child for child in others if any(True for _ in child.parameters())]
    if len(others) == 1 and len(parameterised) == 1:
        return others[0]
    return None
