"""民微 Chinese NLU: is it a demand, which category, how urgent, where — for every message.

Modules, in pipeline order (each one stage, typed in and out; see README "中文 NLU"):

- ``normalize``: full-width → half-width, traditional → simplified, Cantonese → standard written
  Chinese, forward framing/@mentions/placeholders stripped as metadata; offsets back to the original;
- ``urgency``: urgent-situation cues read with their sentence (negation, past, handled, only a risk …):
  features of the classifier, a veto on urgency for calmed messages, and an explanation;
- ``features`` + ``linear`` + ``classifier``: char 1–2-grams and regex/lookup features, logistic
  regression heads for demand, category, dialogue intent and urgency with temperature-calibrated
  confidences (JSON + NPZ, no pickles);
- ``segment`` + ``locations``: our own jieba tokenizer (cut by jieba-rs when ``rjieba`` is installed,
  the same words) and spaCy ``Matcher`` patterns for place spans;
- ``pii`` (phone and ID numbers); ``pipeline``: ``load_pipeline()`` and ``NluResult``;
- ``rasa_components``: thin Rasa 3.6 wrappers (``config.yml``), imported only by the Rasa server;
- ``data``, ``metrics``, ``evaluate``, ``baseline``, ``cli``: training data, evaluation and the
  ``python -m nlu`` command line.

Importing ``nlu`` or any core module has no side effects; heavy libraries (jieba, spaCy, Rasa) are
imported when a pipeline is built.
"""
