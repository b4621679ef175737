"""Tests of `declutr.inference`: `Encoder`, its export and sharded embedding, and their commands."""
