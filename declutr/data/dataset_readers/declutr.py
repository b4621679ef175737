import itertools
import logging
from collections import Counter
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
from allennlp.common.checks import ConfigurationError
from allennlp.common.tqdm import Tqdm
from allennlp.data import DatasetReader, Instance, Token
from allennlp.data.fields import ListField, TextField
from allennlp.data.token_indexers import PretrainedTransformerIndexer, TokenIndexer
from allennlp.data.tokenizers import Tokenizer

from declutr.data.dataset_readers.arguments import (
    check_sampling_args,
    check_short_documents,
    check_tokenizer,
    checked_max_length,
)
from declutr.data.documents import iter_lines
from declutr.data.reading import (
    buffered_shuffle,
    capped_counts,
    counts_message,
    nothing_long_enough,
)
from declutr.data.span_sampling import (
    min_document_length,
    sample_spans,
)
from declutr.data.texts import leading_token_ids, token_ids

logger = logging.getLogger(__name__)


@DatasetReader.register("declutr")
class DeCLUTRDatasetReader(DatasetReader):
    """Reads documents and samples anchor and positive spans from each, as in
    [DeCLUTR (Giorgi et al., 2021)](https://aclanthology.org/2021.acl-long.72/).

    Registered as a `DatasetReader` with name "declutr".

    Input files hold one document per line: plain text, or JSON lines with a `"text"` field when
    the name ends in `.jsonl`; either may be gzip-compressed, recognised by a name ending in `.gz`
    (see `declutr.data.documents`). The file is streamed line by line and
    sharded across distributed workers and data-loader workers, so every document is read by
    exactly one worker and memory does not grow with the file size. Each document is tokenized
    once with the model's subword tokenizer; spans are slices of those tokens.

    Each instance has `anchors` (a `ListField` of `num_anchors` `TextField`s) and `positives`
    (a `ListField` of `num_anchors * num_positives` `TextField`s; the positives of anchor `i` are
    `positives[i * num_positives : (i + 1) * num_positives]`). With sampling switched off
    (`num_anchors=None`, or inside `no_sample()`), an instance is one `anchors` `TextField` holding
    the whole text, truncated to `max_length` tokens: that is what prediction uses.

    Empty lines and documents shorter than `2 * num_anchors * max_span_len` tokens are skipped and
    counted; with `short_documents="shrink"`, a shorter document of at least
    `2 * num_anchors * min_span_len` tokens is sampled with spans shrunk to fit instead (counted
    as `"shrunk"`). If no document of the file is long enough, reading fails with an error naming
    the minimum, the file and the longest document found. With sampling off, texts longer than
    `max_length` tokens are counted as `"truncated"` (and in `texts_truncated`, over the reader's
    lifetime, `text_to_instance` included) and only their beginning is tokenized; with
    `keep_empty_lines` as well, every line gives one instance (an empty one the special tokens
    alone), so that predictions stay aligned with the input's lines. After each pass, `counts`
    holds `"lines"`, `"instances"`, `"empty"`, `"too_short"` (`lines == instances + empty +
    too_short`), `"shrunk"` and `"truncated"`, and is logged. Lines that cannot be decoded (invalid
    UTF-8 or JSON, no string `"text"`) raise `DocumentFormatError` naming the file and line; see
    `declutr.data.documents` for what else is refused and what counts as a line.

    # Parameters

    tokenizer : `PretrainedTransformerTokenizer`
        The model's subword tokenizer. Its special tokens are added around every span.
    token_indexers : `Dict[str, TokenIndexer]`, optional
        Defaults to a `pretrained_transformer` indexer for the tokenizer's model.
    num_anchors : `int`, optional (default=`None`)
        Anchor spans per document. `None` switches sampling off.
    num_positives : `int`, optional (default=`None`)
        Positive spans per anchor. Required when `num_anchors` is set.
    max_span_len : `int`, optional (default=`None`)
        Largest span length in tokens. Required when `num_anchors` is set.
    min_span_len : `int`, optional (default=`None`)
        Smallest span length in tokens. Required when `num_anchors` is set.
    sampling_strategy : `str`, optional (default=`None`)
        Where positives lie relative to their anchor: `None` (adjacent, overlapping or subsumed),
        `"adjacent"` or `"subsuming"`. See `declutr.data.span_sampling.sample_spans`.
    short_documents : `str`, optional (default=`"skip"`)
        What to do with a document under `2 * num_anchors * max_span_len` tokens. `"skip"` (as
        the paper): skip it. `"shrink"`: sample it as if `max_span_len` were
        `num_tokens // (2 * num_anchors)`, so corpora of short documents (questions, abstracts,
        tickets) train; documents under `2 * num_anchors * min_span_len` are still skipped.
    max_length : `int`, optional (default=`None`)
        Most subword tokens in one text field, special tokens excluded; longer spans and texts
        are truncated on the right. Defaults to the tokenizer's model maximum minus the special
        tokens (510 for RoBERTa). More than the model's positions hold is refused, naming the
        largest allowed value (`declutr.data.texts.max_length_limit`).
    shuffle_buffer_size : `int`, optional (default=`1000`)
        Documents are shuffled within a buffer of this many documents (0 keeps file order). The
        buffer bounds memory whatever the file size. Never applied when sampling is off.
    keep_empty_lines : `bool`, optional (default=`False`)
        With sampling off, make an instance of every empty line instead of skipping it. The
        "declutr" predictor switches it on, so `allennlp predict --use-dataset-reader` writes one
        output line per input line.
    seed : `int`, optional (default=`None`)
        Seeds span sampling and shuffling: epoch `k` then depends only on the seed, `k`, the
        distributed rank and the data-loader worker. `None` draws the seed from numpy's global
        generator when the reader is built, which allennlp's `numpy_seed` makes reproducible.
    deterministic : `bool`, optional (default=`False`)
        For validation data: sample the spans of each document from a generator seeded by the
        document's line number alone (not `seed`), and keep the file's order (no shuffling).
        Every read then gives the same spans, whatever the epoch, the run's seed, the number of
        distributed or data-loader workers, or the sharding, so validation metrics of different
        epochs and runs compare. A data loader may set it for one read (`set_epoch`): the
        configs of `training_config/` do so through their `validation_data_loader`.
    **kwargs
        Passed to `DatasetReader` (for example `max_instances`).
    """

    def __init__(
        self,
        tokenizer: Tokenizer,
        token_indexers: Optional[Dict[str, TokenIndexer]] = None,
        num_anchors: Optional[int] = None,
        num_positives: Optional[int] = None,
        max_span_len: Optional[int] = None,
        min_span_len: Optional[int] = None,
        sampling_strategy: Optional[str] = None,
        short_documents: str = "skip",
        max_length: Optional[int] = None,
        shuffle_buffer_size: int = 1000,
        seed: Optional[int] = None,
        keep_empty_lines: bool = False,
        deterministic: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(
            manual_distributed_sharding=True, manual_multiprocess_sharding=True, **kwargs
        )
        check_tokenizer(tokenizer)
        self._tokenizer = tokenizer
        self._hf_tokenizer = tokenizer.tokenizer
        self._token_indexers = token_indexers or {
            "tokens": PretrainedTransformerIndexer(self._hf_tokenizer.name_or_path)
        }
        self.sample_spans = num_anchors is not None
        if self.sample_spans:
            check_sampling_args(
                num_anchors, num_positives, max_span_len, min_span_len, sampling_strategy
            )
        check_short_documents(short_documents)
        self._num_anchors, self._num_positives = num_anchors, num_positives
        self._max_span_len = max_span_len
        self._min_span_len = min_span_len
        self._sampling_strategy = sampling_strategy
        self._short_documents = short_documents
        self._shrink = short_documents == "shrink"
        self._max_length = checked_max_length(max_length, self._hf_tokenizer)
        if shuffle_buffer_size < 0:
            raise ConfigurationError(
                f"shuffle_buffer_size must be 0 or more, got {shuffle_buffer_size}."
            )
        self._shuffle_buffer_size = shuffle_buffer_size
        self._seed = seed if seed is not None else int(np.random.randint(2**31 - 1))
        self._passes = -1  # reads so far, less one; set_epoch overrides it for the next read
        self._next_pass: Optional[Tuple[int, int]] = None  # (epoch, repeat)
        self._next_deterministic: Optional[bool] = None
        # Used by text_to_instance outside of a read; every read makes its own.
        self._rng = np.random.default_rng(self._seed)
        self.counts: Counter = Counter()
        self.texts_truncated = 0
        self.keep_empty_lines = keep_empty_lines
        self.deterministic = deterministic

    @property
    def _skips_empty_lines(self) -> bool:
        return self.sample_spans or not self.keep_empty_lines

    @property
    def max_length(self) -> int:
        """Most subword tokens in one text field, special tokens excluded."""
        return self._max_length

    @property
    def hf_tokenizer(self) -> Any:
        """The Hugging Face tokenizer the reader tokenizes with."""
        return self._hf_tokenizer

    @property
    def min_document_tokens(self) -> int:
        """Fewest subword tokens a document needs to be sampled from."""
        assert self._num_anchors is not None and self._max_span_len is not None
        span_len = self._min_span_len if self._shrink else self._max_span_len
        return min_document_length(self._num_anchors, span_len)  # type: ignore[arg-type]

    @contextmanager
    def no_sample(self) -> Iterator[None]:
        """Switch span sampling off inside the block (prediction uses whole texts)."""
        previous, self.sample_spans = self.sample_spans, False
        try:
            yield
        finally:
            self.sample_spans = previous

    def _read(self, file_path: str) -> Iterable[Instance]:
        self.counts = Counter()
        self._rng = self._pass_rng()
        deterministic = self._deterministic_pass()
        lines = self._shard(iter_lines(file_path))
        if self.sample_spans and self._shuffle_buffer_size > 0 and not deterministic:
            lines = buffered_shuffle(lines, self._shuffle_buffer_size, self._rng)
        for line_number, text in lines:
            self.counts["lines"] += 1
            if not text and self._skips_empty_lines:
                self.counts["empty"] += 1
                continue
            if not self.sample_spans:
                self.counts["instances"] += 1
                yield self._whole_text_instance(text)
                continue
            token_ids = self._token_ids(text)
            if self.sample_spans and len(token_ids) < self.min_document_tokens:
                self.counts["too_short"] += 1
                continue
            self.counts["instances"] += 1
            if len(token_ids) < min_document_length(self._num_anchors, self._max_span_len):
                self.counts["shrunk"] += 1
            if deterministic:
                self._rng = np.random.default_rng(line_number)
            yield self._instance_from_token_ids(token_ids)
        self._log_counts(file_path)
        if self.sample_spans and self.counts["instances"] == 0:
            self._fail_or_warn_if_nothing_sampled(file_path)

    def count_instances(self, file_path: str) -> int:
        """How many instances a pass over this rank's shard of `file_path` yields."""
        return sum(self.count_instances_per_worker(file_path, num_workers=1))

    def count_instances_per_worker(
        self, file_path: str, num_workers: int, progress: bool = False
    ) -> List[int]:
        """How many instances each of `num_workers` data-loader workers yields in a pass over
        this rank's shard of `file_path`, without sampling or keeping anything. `progress` shows
        a progress bar of the shard's documents (lines) counted, and their rate."""
        distributed = self.get_distributed_info()
        lines = iter_lines(file_path)
        if distributed is not None:
            lines = itertools.islice(lines, distributed.global_rank, None, distributed.world_size)
        if progress:
            lines = Tqdm.tqdm(lines, desc=f"Counting {file_path}", unit=" documents")
        counts = [0] * num_workers
        for index, (_, text) in enumerate(lines):
            if not text and self._skips_empty_lines:
                continue
            if not self.sample_spans or len(self._token_ids(text)) >= self.min_document_tokens:
                counts[index % num_workers] += 1
        return capped_counts(counts, self.max_instances, distributed)

    def _shard(self, lines: Iterator[Tuple[int, str]]) -> Iterator[Tuple[int, str]]:
        """This rank's and this data-loader worker's lines: every `world_size`-th line from the
        rank, then every `num_workers`-th of those from the worker. Not `shard_iterable`, which
        shards by `torch.distributed` (unset in spawned workers and by `_set_distributed_info`)
        and caps lines, not instances, at `max_instances` (`read` caps the instances)."""
        distributed = self.get_distributed_info()
        if distributed is not None:
            lines = itertools.islice(lines, distributed.global_rank, None, distributed.world_size)
        worker = self.get_worker_info()
        if worker is not None:
            lines = itertools.islice(lines, worker.id, None, worker.num_workers)
        return lines

    def text_to_instance(self, text: str) -> Instance:  # type: ignore[override]
        """An instance of sampled spans of `text`, or of the whole text with sampling off.

        Raises `ValueError` if sampling is on and `text` is too short.
        """
        if not self.sample_spans:
            return self._whole_text_instance(text)
        return self._instance_from_token_ids(self._token_ids(text))

    def apply_token_indexers(self, instance: Instance) -> None:
        for field in instance.fields.values():
            text_fields = field.field_list if isinstance(field, ListField) else [field]
            for text_field in text_fields:
                text_field.token_indexers = self._token_indexers  # type: ignore[attr-defined]

    def _token_ids(self, text: str) -> List[int]:
        return token_ids(self._hf_tokenizer, [text])[0]

    def _whole_text_instance(self, text: str) -> Instance:
        """The text's first `max_length` tokens, counting it if it has more."""
        [(token_ids, truncated)] = leading_token_ids(self._hf_tokenizer, [text], self._max_length)
        if truncated:
            self.counts["truncated"] += 1
            self.texts_truncated += 1
        return Instance({"anchors": self._text_field(token_ids)})

    def _instance_from_token_ids(self, token_ids: List[int]) -> Instance:
        assert self._num_anchors is not None and self._num_positives is not None
        assert self._max_span_len is not None and self._min_span_len is not None
        spans = sample_spans(
            len(token_ids),
            self._rng,
            num_anchors=self._num_anchors,
            num_positives=self._num_positives,
            max_span_len=self._max_span_len,
            min_span_len=self._min_span_len,
            sampling_strategy=self._sampling_strategy,
            short_documents=self._short_documents,
        )
        anchors = [self._text_field(token_ids[start:end]) for start, end in spans.anchors]
        positives = [self._text_field(token_ids[start:end]) for start, end in spans.positives]
        return Instance({"anchors": ListField(anchors), "positives": ListField(positives)})

    def _text_field(self, token_ids: List[int]) -> TextField:
        token_ids = token_ids[: self._max_length]
        pieces = self._hf_tokenizer.convert_ids_to_tokens(token_ids)
        # What `self._tokenizer.add_special_tokens` returns, without its copy of every token
        # (dataclasses.replace), which took a fifth of the reader's time.
        type_id = self._tokenizer.single_sequence_token_type_id
        tokens = [
            Token(text=piece, text_id=i, type_id=type_id) for piece, i in zip(pieces, token_ids)
        ]
        return TextField(
            self._tokenizer.single_sequence_start_tokens
            + tokens
            + self._tokenizer.single_sequence_end_tokens
        )

    def set_epoch(self, epoch: int, deterministic: Optional[bool] = None, repeat: int = 0) -> None:
        """Make the next read sample as epoch `epoch` (0-based) does, in its `repeat`-th pass
        (a distributed rank whose shard runs out first reads it again: new spans), and, unless
        `deterministic` is `None`, override the reader's `deterministic` for that read.

        Data loaders call this before each epoch (see `StreamingDataLoader`), so that epochs
        differ, and two loaders over one reader (or a resumed run) see the same spans; a
        validation loader passes `deterministic=True` for a reader shared with training. Without
        it, each read of this reader is the next pass."""
        self._next_pass = (epoch, repeat)
        self._next_deterministic = deterministic

    def _deterministic_pass(self) -> bool:
        deterministic = self._next_deterministic
        if self.get_worker_info() is None:  # workers hold copies: nothing to reset there
            self._next_deterministic = None
        return self.deterministic if deterministic is None else deterministic

    def _pass_rng(self) -> np.random.Generator:
        """A generator for this pass: differs between passes, ranks and data-loader workers."""
        if self._next_pass is not None:
            pass_number, repeat = self._next_pass
            if self.get_worker_info() is None:  # workers hold copies: nothing to reset there
                self._next_pass = None
        else:
            self._passes += 1
            pass_number, repeat = self._passes, 0
        distributed = self.get_distributed_info()
        rank = distributed.global_rank if distributed is not None else 0
        worker = self.get_worker_info()
        worker_id = worker.id if worker is not None else 0
        entropy = [self._seed, pass_number, rank, worker_id] + ([repeat] if repeat else [])
        return np.random.default_rng(entropy)

    def _log_counts(self, file_path: str) -> None:
        minimum = self.min_document_tokens if self.sample_spans else None
        logger.info(counts_message(file_path, self.counts, self._max_length, minimum, self._shrink))

    def nothing_long_enough_error(self, file_path: str) -> Optional[ValueError]:
        """The error naming `file_path`, the minimum length and the longest document, if no
        document of the whole file (every shard) is long enough to sample from; else `None`."""
        longest = 0
        for _, text in iter_lines(file_path):
            longest = max(longest, len(self._token_ids(text)) if text else 0)
            if longest >= self.min_document_tokens:
                return None
        span_len = self._min_span_len if self._shrink else self._max_span_len
        return nothing_long_enough(file_path, longest, self._num_anchors, span_len, self._shrink)  # type: ignore[arg-type]

    def _fail_or_warn_if_nothing_sampled(self, file_path: str) -> None:
        """No document of this shard was usable: fail if none of the whole file is."""
        error = self.nothing_long_enough_error(file_path)
        if error is not None:
            raise error
        logger.warning(
            "This worker's shard of %s has no document of %d or more tokens; other shards do.",
            file_path,
            self.min_document_tokens,
        )
