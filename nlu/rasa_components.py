"""Rasa 3.6 components around the NLU core (imported only by the Rasa server, ``.venv-rasa``).

``config.yml``::

    pipeline:
      - name: nlu.rasa_components.MinweiTokenizer
      - name: nlu.rasa_components.MinweiClassifier

- ``MinweiTokenizer``: our normaliser and our own jieba tokenizer (user dictionary and gazetteer
  stored with the model); token offsets point into the original text.
- ``MinweiClassifier``: trains and runs nlu.pipeline on Rasa's training data. It sets the intent
  (``report`` for every demand, otherwise the dialogue/non-demand intent), the intent ranking,
  ``location`` entities (offsets into the original text) and the whole ``NluResult.as_dict()`` as the
  top-level ``minwei`` key of the parse result.

The wrappers are thin: everything they decide comes from the core, so ``/model/parse`` and
``python -m nlu classify`` agree.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_RANKING_KEY,
    METADATA,
    METADATA_INTENT,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.data import Example
from nlu.gazetteer import Gazetteer, write_resources
from nlu.normalize import Normalizer
from nlu.pipeline import Pipeline, load_pipeline, train_pipeline
from nlu.registry import LiveModel
from nlu.resources import DEFAULT_MODEL_DIR, LEXICON_DIR, resources_fingerprint
from nlu.segment import Segmenter

MINWEI_KEY = "minwei"
LOCATION = "location"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class MinweiTokenizer(Tokenizer):
    """Normalise, then segment with our jieba instance; tokens index the original text."""

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["zh"]

    @staticmethod
    def required_packages() -> list[str]:
        return ["jieba"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        resources_dir: Path | None = None,
    ) -> None:
        super().__init__(config)
        self._model_storage = model_storage
        self._resource = resource
        self._build(resources_dir)

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain (not reuse Rasa's cached component) when a lexicon or dictionary changed."""
        return resources_fingerprint()

    def _build(self, directory: Path | None) -> None:
        if directory is None:
            self._normalizer = Normalizer(LEXICON_DIR)
            with tempfile.TemporaryDirectory(prefix="minwei-tokenizer-") as tmp:
                gazetteer = write_resources(Path(tmp))
                self._segmenter = Segmenter(Path(tmp) / "userdict.txt", gazetteer.units)
        else:
            self._normalizer = Normalizer(directory)
            self._segmenter = Segmenter(directory / "userdict.txt", Gazetteer.load(directory).units)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MinweiTokenizer:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MinweiTokenizer:
        with model_storage.read_from(resource) as directory:
            return cls(config, model_storage, resource, Path(directory))

    def train(self, training_data: TrainingData) -> Resource:
        """Store the dictionaries with the model so it does not depend on data/ at run time."""
        with self._model_storage.write_to(self._resource) as directory:
            for source in (LEXICON_DIR / "cantonese.tsv", LEXICON_DIR / "t2s_chars.tsv"):
                shutil.copyfile(source, Path(directory) / source.name)
            write_resources(Path(directory))  # userdict.txt, gazetteer.txt, divisions.txt
        return self._resource

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        norm = self._normalizer.normalize(text)
        tokens = []
        pos = 0
        for word in self._segmenter.cut(norm.text):
            start, end = pos, pos + len(word)
            pos = end
            if word.isspace():
                continue
            o_start, o_end = norm.to_original(start, end)
            tokens.append(Token(word, o_start, o_end))
        return self._apply_token_pattern(tokens)


@DefaultV1Recipe.register(
    [
        DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
        DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR,
    ],
    is_trainable=True,
)
class MinweiClassifier(GraphComponent, IntentClassifier, EntityExtractorMixin):
    """Intent (report / dialogue intents), location entities and the ``minwei`` result."""

    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["zh"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"batch_size": 512}

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain (not reuse Rasa's cached component) when a lexicon or the taxonomy changed."""
        return resources_fingerprint()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        pipeline: Pipeline | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._pipeline = pipeline
        # Follow the models registry (nlu.registry): a promoted or rolled-back version replaces the
        # model packed in Rasa's tar within seconds, as it does in the bot, so the two agree.
        self._live = (
            LiveModel(pipeline, check_seconds=float(self._config.get("registry_check_seconds", 10)))
            if pipeline is not None
            else None
        )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MinweiClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> MinweiClassifier:
        with model_storage.read_from(resource) as directory:
            pipeline = load_pipeline(
                Path(directory) / "nlu", batch_size=config.get("batch_size", 512)
            )
        return cls(config, model_storage, resource, pipeline)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            example
            for message in training_data.intent_examples
            if (example := example_from_message(message)) is not None
        ]
        with self._model_storage.write_to(self._resource) as directory:
            # The same inputs as models/nlu (make train trains it first): copy it, do not train twice.
            train_pipeline(Path(directory) / "nlu", examples, reuse=DEFAULT_MODEL_DIR)
            self._pipeline = load_pipeline(Path(directory) / "nlu")
        self._live = LiveModel(self._pipeline)
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self._live is None or not messages:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        pipeline = self._live.get()
        for message, result in zip(messages, pipeline.classify(texts), strict=True):
            payload = result.as_dict()
            ranking = [
                {"name": name, PREDICTED_CONFIDENCE_KEY: confidence}
                for name, confidence in payload["intent_ranking"]
            ]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            entities = [
                {
                    ENTITY_ATTRIBUTE_TYPE: LOCATION,
                    ENTITY_ATTRIBUTE_START: loc["start"],
                    ENTITY_ATTRIBUTE_END: loc["end"],
                    ENTITY_ATTRIBUTE_VALUE: loc["text"],
                    EXTRACTOR: self.name,
                }
                for loc in payload["locations"]
            ]
            message.set(ENTITIES, (message.get(ENTITIES) or []) + entities, add_to_output=True)
            message.set(MINWEI_KEY, payload, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


def example_from_message(message: Message) -> Example | None:
    """Our training example from a Rasa training message (None for non-intent examples)."""
    text = message.get(TEXT)
    intent = message.get(INTENT)
    if not text or not intent:
        return None
    metadata = (message.get(METADATA) or {}).get(METADATA_INTENT) or {}
    spans = tuple(
        (int(e[ENTITY_ATTRIBUTE_START]), int(e[ENTITY_ATTRIBUTE_END]))
        for e in message.get(ENTITIES) or []
        if e.get(ENTITY_ATTRIBUTE_TYPE) == LOCATION
    )
    return Example(text=text, intent=intent, urgent=bool(metadata.get("urgent")), locations=spans)
