"""The `declutr` subcommands, one module each (thin: the work is done by the library); `declutr.cli`
assembles them. Like `declutr.cli`, they import only light modules at the top, and torch,
allennlp and the rest inside the command that needs them."""
