"""Build the sentence scorer as a tf.Module and save it as a SavedModel in model/.

A sentence scores high when its content words recur across the document (the
centrality idea behind TextRank, in one pass): score = mean over its non-stop-word
tokens of how often that token appears in the whole input. The stop-word table is
the model's state; the signature `serving_default` maps `sentences` (string [n])
to `scores` (float32 [n]).
"""
from pathlib import Path

import tensorflow as tf

OUT = Path(__file__).resolve().parent / "model"
STOP_WORDS = ("a an and are as at be but by for from has have in is it its of on or that the this to was "
              "were will with we our they their he she his her you your not no so than then there these those "
              "which who what when where how also can more most very into over about after before").split()


class SentenceScorer(tf.Module):
    def __init__(self):
        super().__init__()
        keys = tf.constant(STOP_WORDS)
        self.stop_words = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, tf.ones_like(keys, dtype=tf.int64)), default_value=0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def score(self, sentences):
        clean = tf.strings.regex_replace(tf.strings.lower(sentences), r"[^a-z0-9 ]+", " ")
        tokens = tf.strings.split(clean)
        content = tf.ragged.boolean_mask(tokens, tf.equal(self.stop_words.lookup(tokens), 0))
        words, index = tf.unique(content.flat_values)
        counts = tf.math.bincount(index, minlength=tf.size(words), dtype=tf.float32)
        per_token = content.with_flat_values(tf.gather(counts, index))
        lengths = tf.cast(per_token.row_lengths(), tf.float32)
        return {"scores": tf.math.divide_no_nan(tf.reduce_sum(per_token, axis=1), lengths)}


if __name__ == "__main__":
    scorer = SentenceScorer()
    tf.saved_model.save(scorer, str(OUT), signatures={"serving_default": scorer.score})
    print(f"wrote {OUT}")
