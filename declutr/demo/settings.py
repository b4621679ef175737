"""The demo's settings, in a module of their own so that `declutr demo --help` shows them without
importing torch (`declutr.demo.run` uses them)."""

# The training config, from `training_config/` (declutr.configs finds it in a checkout or a wheel).
CONFIG_NAME = "quickstart.jsonnet"
# Training documents by default (None: all ~2200 not held out; ~2040 are long enough to sample
# from: ~255 batches of 8). Lower it to shorten training, which took 0.25-0.4 s a batch on two CPU
# cores with the default encoder.
DEFAULT_MAX_DOCUMENTS = None
# The environment variable from which the training config takes its encoder.
MODEL_VARIABLE = "DECLUTR_MODEL"
# A pretrained `--model` trains at this rate instead of the config's from-scratch rate, and on
# this many documents by default (all-MiniLM-L6-v2, 2 CPU cores: 35 batches in 79 s). Chosen by
# scripts/benchmarks/demo_learning_rate.py on data the demo never reports on (a validation split
# of the training articles, STS-B dev): of 1e-5, 2e-5 and 5e-5 on all-MiniLM-L6-v2, 5e-5 had the
# best mean of validation 1-NN accuracy, validation retrieval and STS-B dev (0.8954 against 0.8907
# and 0.8898); every rate stayed within 1.5 points of the untrained model on each
# (scripts/benchmarks/results/demo_learning_rate.log). The config's 2e-3 is for a fresh encoder.
PRETRAINED_LEARNING_RATE = 5e-5
PRETRAINED_MAX_DOCUMENTS = 320
# Held-out articles per category: 5 categories, 200 articles. Over 100, 1-NN accuracy moved by 15
# points between runs that differed only in the learning rate (demo_from_scratch_rate.log).
DEFAULT_HELDOUT_PER_CATEGORY = 40
# Rows of the nearest-neighbour table (the before/after table covers all held-out articles).
NEIGHBOUR_ROWS = 10
