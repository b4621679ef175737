import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from allennlp.common.checks import ConfigurationError
from allennlp.data import TextFieldTensors, Vocabulary
from allennlp.models import Model
from allennlp.modules import FeedForward, Seq2VecEncoder, TextFieldEmbedder
from allennlp.modules.seq2vec_encoders import BagOfEmbeddingsEncoder
from allennlp.modules.token_embedders import TokenEmbedder
from allennlp.nn import InitializerApplicator, util

from declutr.losses import ContrastiveLoss
from declutr.models.grouping import GradientCacheChunks, LengthGroups
from declutr.modules.distributed import all_gather_with_local_grad, scale_gradient
from declutr.modules.token_embedders import PretrainedTransformerMLMEmbedder
from declutr.training.metrics import Mean, RetrievalMetric


@Model.register("declutr")
class DeCLUTR(Model):
    """Contrastive span embeddings plus masked language modelling, as in
    [DeCLUTR (Giorgi et al., 2021)](https://aclanthology.org/2021.acl-long.72/).

    Registered as a `Model` with name "declutr".

    Spans are encoded by the `text_field_embedder` and pooled by the `seq2vec_encoder` (masked
    mean pooling by default, which ignores padding). The positives of one anchor are averaged;
    anchor `i` and its mean positive form a pair for the contrastive `loss`, every other span of
    the batch being a negative. Under distributed training the pairs of all workers are gathered,
    so every worker's spans are negatives for every other worker's. With
    `masked_language_modeling`, the anchors are masked (15% of tokens, 80/10/10) and one pass
    gives both their embeddings and the masked-LM loss.

    Out of training (validation), anchors are embedded unmasked and the metrics add
    `retrieval_accuracy` and `retrieval_mrr` (see `RetrievalMetric`: each anchor's embedding
    retrieves its own mean positive among all the validation positives, by cosine similarity),
    on the pooled "embeddings" that prediction returns. The masked-LM loss is then measured on
    masks drawn from a generator seeded by the batch's token ids, so that the same validation
    data gives the same masks, and the same loss, in every epoch. A batch of no instance (from a
    distributed rank whose validation shard ran out before the others': see the
    "declutr_streaming" loader) only joins the other ranks' gathers: no loss, no metric.

    # Parameters

    vocab : `Vocabulary`
        Unused by the model itself (the transformer has its own vocabulary).
    text_field_embedder : `TextFieldEmbedder`
        Embeds the tokens. For masked language modelling it must contain a
        `pretrained_transformer_mlm` token embedder.
    seq2vec_encoder : `Seq2VecEncoder`, optional (default=masked mean pooling)
        Pools token embeddings into one vector per span.
    feedforward : `FeedForward`, optional (default=`None`)
        A projection applied after pooling; the loss then uses its output ("projections"), while
        "embeddings" stay the pooled vectors.
    loss : `ContrastiveLoss`, optional (default=`None`)
        The contrastive loss, for example `{"type": "nt_xent", "temperature": 0.05}`. `None`
        trains the masked LM alone.
    masked_language_modeling : `bool`, optional (default=`True`)
        Add the masked-LM loss on the anchors during training.
    mlm_probability : `float`, optional (default=`0.15`)
        Share of (non-special, non-padding) anchor tokens selected for masking.
    mlm_weight : `float`, optional (default=`1.0`)
        The training loss is `contrastive + mlm_weight * masked_lm` (the paper's sum: `1.0`).
        The reported `mlm_loss` is unweighted. Must be positive; to train without the masked-LM
        loss, set `masked_language_modeling: false`.
    unmasked_anchors : `bool`, optional (default=`False`)
        With both losses on (it needs both: otherwise a `ConfigurationError`): embed the anchors
        for the contrastive loss from a second, unmasked pass, instead of from the masked pass
        that gives the masked-LM loss (the paper's single pass, the default). Costs one more
        forward pass over the anchors; measured in `scripts/benchmarks/reproduction.py`
        (docs/reproduction.md), the masked anchors are what puts DeCLUTR below the contrastive
        loss alone on a small budget.
    masked_anchor_positives : `bool`, optional (default=`False`)
        With `unmasked_anchors` (otherwise a `ConfigurationError`): add a second contrastive term
        that pairs each unmasked anchor with its own masked pass, a SimCSE-like positive (the
        same text under other masks and dropout), beside its span positives. No extra encoder
        pass: the masked pass already runs for the masked-LM loss. A dev experiment of
        docs/comparison.md.
    scale_fix : `bool`, optional (default=`True`)
        Under distributed training each worker's loss covers the gathered batch but only its own
        slice carries gradients, and DDP averages gradients over the `W` workers, so the applied
        gradient is `1/W` of the combined batch's. `True` multiplies the contrastive gradient by
        `W` (leaving the reported loss unchanged), so training matches one process holding the
        whole batch. `False` reproduces the original implementation's scaling.
    gradient_cache_chunk_size : `int`, optional (default=`None`)
        Gradient caching (GradCache, [Gao et al., 2021](https://aclanthology.org/2021.repl4nlp-1.31/)):
        in training, encode spans in chunks of this many without keeping their activations,
        compute the loss on all embeddings, then re-encode each chunk with its graph and
        backpropagate the embeddings' cached gradients. Loss and gradients are those of the
        whole batch; activation memory is that of one chunk, so large contrastive batches fit.
        Costs one extra forward pass. Implemented with non-reentrant activation checkpointing
        per chunk, which performs exactly these steps inside `loss.backward()`, so it composes
        with allennlp's trainer, AMP and DDP. Chunks are taken in order of length, each cut to
        its longest span.
    length_groups : `int`, optional (default=`1`)
        Encode the spans of a batch in this many groups of similar length, each padded only to
        its own longest span instead of the batch's: less compute on padding, in smaller matrix
        products. Results are unchanged (within float rounding).
    initializer : `InitializerApplicator`, optional
        Applied to the model's parameters after construction.
    """

    default_predictor = "declutr"

    def __init__(
        self,
        vocab: Vocabulary,
        text_field_embedder: TextFieldEmbedder,
        seq2vec_encoder: Optional[Seq2VecEncoder] = None,
        feedforward: Optional[FeedForward] = None,
        loss: Optional[ContrastiveLoss] = None,
        masked_language_modeling: bool = True,
        mlm_probability: float = 0.15,
        mlm_weight: float = 1.0,
        unmasked_anchors: bool = False,
        masked_anchor_positives: bool = False,
        scale_fix: bool = True,
        gradient_cache_chunk_size: Optional[int] = None,
        length_groups: int = 1,
        initializer: Optional[InitializerApplicator] = None,
        **kwargs,
    ) -> None:
        super().__init__(vocab, **kwargs)
        if loss is None and not masked_language_modeling:
            raise ConfigurationError(
                "The declutr model needs a training objective: set a contrastive `loss` "
                '(for example {"type": "nt_xent"}), `masked_language_modeling: true`, or both.'
            )
        if not 0 < mlm_probability < 1:
            raise ConfigurationError(f"mlm_probability must be in (0, 1), got {mlm_probability}.")
        _check_unmasked_anchors(
            unmasked_anchors, masked_anchor_positives, loss, masked_language_modeling
        )
        if not mlm_weight > 0:
            raise ConfigurationError(
                f"mlm_weight must be positive, got {mlm_weight}; to train without the masked-LM "
                "loss, set masked_language_modeling: false."
            )
        self._text_field_embedder = text_field_embedder
        self._seq2vec_encoder = seq2vec_encoder or BagOfEmbeddingsEncoder(
            text_field_embedder.get_output_dim(), averaged=True
        )
        self._feedforward = feedforward
        self._loss = loss
        self._mlm_embedder = _mlm_embedder(text_field_embedder, masked_language_modeling)
        self._mlm_probability = mlm_probability
        self._mlm_weight = mlm_weight
        self._unmasked_anchors = unmasked_anchors
        self._masked_anchor_positives = masked_anchor_positives
        self._scale_fix = scale_fix
        if gradient_cache_chunk_size is not None and gradient_cache_chunk_size < 1:
            raise ConfigurationError(
                f"gradient_cache_chunk_size must be at least 1, got {gradient_cache_chunk_size}."
            )
        self._gradient_cache_chunk_size = gradient_cache_chunk_size
        if length_groups < 1:
            raise ConfigurationError(f"length_groups must be at least 1, got {length_groups}.")
        self._length_groups = length_groups
        self._contrastive_loss = Mean()
        self._mlm_loss = Mean()
        self._retrieval = RetrievalMetric()
        if initializer is not None:
            initializer(self)

    def forward(  # type: ignore[override]
        self, anchors: TextFieldTensors, positives: Optional[TextFieldTensors] = None
    ) -> Dict[str, torch.Tensor]:
        """
        # Parameters

        anchors : `TextFieldTensors`
            From a `ListField` of `TextField`s, token tensors of shape
            `(batch_size, num_anchors, seq_len)`; or from one `TextField` per instance (prediction),
            `(batch_size, seq_len)`.
        positives : `TextFieldTensors`, optional
            Shape `(batch_size, num_anchors * num_positives, seq_len)`, the positives of anchor
            `i` contiguous.

        # Returns

        An output dict with `embeddings`, shape `(batch_size, num_anchors, dim)` or
        `(batch_size, dim)`; `projections` of the same leading shape when there is a feedforward;
        and in training (or when positives are given) `loss`, a scalar.
        """
        token_ids = util.get_token_ids_from_text_field_tensors(anchors)
        if token_ids.dim() == 2:
            return self._project(self._embed(anchors))

        batch_size, num_anchors = token_ids.shape[:2]
        mlm_loss: Optional[torch.Tensor] = None
        masked: Optional[torch.Tensor] = None  # the masked pass, as a positive of its anchor
        if self.training and self._mlm_embedder is not None:
            anchor_embeddings, mlm_loss = self._embed_masked(_flatten(anchors))
            if self._unmasked_anchors and self._loss is not None:
                masked = anchor_embeddings if self._masked_anchor_positives else None
                anchor_embeddings = self._embed(_flatten(anchors))
        else:
            anchor_embeddings = self._embed(_flatten(anchors))
            if self._mlm_embedder is not None and positives is not None:  # validation
                _, mlm_loss = self._embed_masked(_flatten(anchors), _seeded_by(token_ids))
        output = self._project(anchor_embeddings)

        # An empty batch (a distributed rank whose validation shard has run out: see the
        # declutr_streaming loader) joins the other ranks' collectives, adding no loss or metric.
        counts = batch_size > 0
        losses = []
        if mlm_loss is not None:
            self._mlm_loss(mlm_loss.detach() if counts else None)
            if counts:
                losses.append(self._mlm_weight * mlm_loss)
        if positives is not None and (self._loss is not None or not self.training):
            mean_positives = self._mean_positives(positives, num_anchors)
            if not self.training:
                self._retrieval(output["embeddings"], mean_positives["embeddings"])
        if positives is not None and self._loss is not None:
            positive_sets = [_loss_vectors(mean_positives)]
            if masked is not None:
                positive_sets.append(_loss_vectors(self._project(masked)))
            contrastive_loss = self._gathered_contrastive_loss(_loss_vectors(output), positive_sets)
            self._contrastive_loss(contrastive_loss.detach() if counts else None)
            if counts:
                losses.append(contrastive_loss)
        if losses:
            output["loss"] = torch.stack(losses).sum()
        # Shape: (batch_size, num_anchors, dim)
        return {
            key: value.view(batch_size, num_anchors, value.size(-1)) if key != "loss" else value
            for key, value in output.items()
        }

    def _embed(self, tokens: TextFieldTensors) -> torch.Tensor:
        """Pooled embeddings, `(batch_size, dim)`, of texts with `(batch_size, seq_len)` tokens."""
        mask = util.get_text_field_mask(tokens)
        embeddings, _ = self._strategy()(self._encode_and_pool, mask, tokens)
        return embeddings

    def _encode_and_pool(self, tokens: TextFieldTensors) -> Tuple[torch.Tensor, None]:
        mask = util.get_text_field_mask(tokens)
        return self._pool(self._text_field_embedder(tokens), mask), None

    def _pool(self, hidden_states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self._seq2vec_encoder(hidden_states, mask=mask)

    def _embed_masked(
        self, tokens: TextFieldTensors, generator: Optional[torch.Generator] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Like `_embed`, on masked input, plus the mean masked-LM loss (one forward pass): the
        MLM embedder's `masked_lm`, run by the same strategy as `_embed`; `generator` draws the
        masks."""
        assert self._mlm_embedder is not None
        (indexed,) = tokens.values()  # one indexer, checked in the constructor
        return self._mlm_embedder.masked_lm(
            indexed["token_ids"],
            util.get_text_field_mask(tokens),
            indexed.get("type_ids"),
            self._mlm_probability,
            pool=self._pool,
            run=self._strategy(),
            generator=generator,
        )

    def _strategy(self) -> Callable[..., Tuple[torch.Tensor, List[Any]]]:
        """How this batch's spans are encoded (`declutr.models.grouping`): in gradient-cache
        chunks when training with gradients, else in length groups (one: the whole batch)."""
        if self._gradient_cache_chunk_size is not None and self.training:
            if torch.is_grad_enabled():
                return GradientCacheChunks(self._gradient_cache_chunk_size)
        return LengthGroups(self._length_groups)

    def _project(self, embeddings: torch.Tensor) -> Dict[str, torch.Tensor]:
        output = {"embeddings": embeddings}
        if self._feedforward is not None:
            output["projections"] = self._feedforward(embeddings)
        return output

    def _mean_positives(
        self, positives: TextFieldTensors, num_anchors: int
    ) -> Dict[str, torch.Tensor]:
        """The mean positive "embeddings" (and "projections") of each anchor, each
        `(batch_size * num_anchors, dim)`, given `num_anchors` anchors per instance."""
        batch_size, num_spans = util.get_token_ids_from_text_field_tensors(positives).shape[:2]
        embedded = self._project(self._embed(_flatten(positives)))
        # Shape: (batch_size * num_anchors, num_positives, dim) -> mean over the positives
        return {
            key: vectors.view(
                batch_size * num_anchors, num_spans // num_anchors, vectors.size(-1)
            ).mean(dim=1)
            for key, vectors in embedded.items()
        }

    def _gathered_contrastive_loss(
        self, anchors: torch.Tensor, positive_sets: List[torch.Tensor]
    ) -> torch.Tensor:
        """The contrastive loss summed over `positive_sets`, on all workers' pairs (the anchors
        gathered once)."""
        assert self._loss is not None
        anchors = all_gather_with_local_grad(anchors)
        gathered = [all_gather_with_local_grad(positives) for positives in positive_sets]
        loss = torch.stack([self._loss(anchors, positives) for positives in gathered]).sum()
        if self._scale_fix and dist.is_available() and dist.is_initialized():
            loss = scale_gradient(loss, dist.get_world_size())
        return loss

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics = {}
        if self._loss is not None:
            metrics["contrastive_loss"] = self._contrastive_loss.get_metric(reset)
        if self._mlm_embedder is not None:
            metrics["mlm_loss"] = self._mlm_loss.get_metric(reset)
        if not self.training:
            metrics.update(self._retrieval.get_metric(reset))
        return metrics


def _check_unmasked_anchors(
    unmasked_anchors: bool,
    masked_anchor_positives: bool,
    loss: Optional[ContrastiveLoss],
    masked_language_modeling: bool,
) -> None:
    """`unmasked_anchors` changes only a model with both losses: refuse it on any other; and
    `masked_anchor_positives` pairs unmasked anchors with their masked pass: refuse it without."""
    if masked_anchor_positives and not unmasked_anchors:
        raise ConfigurationError(
            "masked_anchor_positives: true pairs each unmasked anchor with its masked pass, "
            "so it needs unmasked_anchors: true (and so both losses); set it or remove "
            "masked_anchor_positives."
        )
    if not unmasked_anchors or (loss is not None and masked_language_modeling):
        return
    why = (
        "there is no contrastive `loss` to embed them for"
        if loss is None
        else "without masked_language_modeling they are never masked"
    )
    raise ConfigurationError(
        "unmasked_anchors: true embeds the anchors for the contrastive loss from an unmasked "
        f"pass beside the masked-LM pass, so it needs both losses; here {why}. Remove "
        "unmasked_anchors, or set both a contrastive loss and masked_language_modeling: true."
    )


def _loss_vectors(output: Dict[str, torch.Tensor]) -> torch.Tensor:
    """What the contrastive loss compares: the "projections" when there is a feedforward."""
    return output.get("projections", output["embeddings"])


def _seeded_by(token_ids: torch.Tensor) -> torch.Generator:
    """A generator on `token_ids`' device seeded by their values: the same batch gets the same
    validation masks every time."""
    ids = token_ids.detach().cpu().numpy()
    generator = torch.Generator(device=token_ids.device)
    generator.manual_seed(zlib.crc32(ids.tobytes()) + ids.shape[-1])
    return generator


def _mlm_embedder(
    text_field_embedder: TextFieldEmbedder, masked_language_modeling: bool
) -> Optional[PretrainedTransformerMLMEmbedder]:
    """The one MLM token embedder that `masked_language_modeling` trains (after checking there
    is exactly one token embedder, so one token indexer); without it, `None`, and the heads of
    any MLM embedders are frozen (they would get no gradient, which DDP refuses)."""
    embedders = [
        module for module in text_field_embedder.children() if isinstance(module, TokenEmbedder)
    ]
    mlm_embedders = [
        module
        for module in text_field_embedder.modules()
        if isinstance(module, PretrainedTransformerMLMEmbedder)
    ]
    if not masked_language_modeling:
        for embedder in mlm_embedders:
            embedder.freeze_lm_head()
        return None
    if len(mlm_embedders) != 1:
        raise ConfigurationError(
            "masked_language_modeling needs exactly one token embedder of type "
            f'"pretrained_transformer_mlm" in text_field_embedder, found {len(mlm_embedders)}. '
            "Use that embedder or set masked_language_modeling: false."
        )
    if len(embedders) > 1:
        raise ConfigurationError(
            "masked_language_modeling supports one token indexer (and token embedder), found "
            f"{len(embedders)} token embedders in text_field_embedder."
        )
    return mlm_embedders[0]


def _flatten(tokens: TextFieldTensors) -> TextFieldTensors:
    """Merge the batch and list dimensions: `(batch, num_texts, seq_len)` -> `(batch * num_texts,
    seq_len)` for every tensor of a `ListField[TextField]`."""
    return {
        indexer: {key: tensor.reshape(-1, tensor.size(-1)) for key, tensor in indexed.items()}
        for indexer, indexed in tokens.items()
    }
