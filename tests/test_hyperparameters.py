"""HyperParameters: validation messages, parsing, immutability, round trip, suggestions."""

import dataclasses
import math
import re

import pytest

from deepstep import HyperParameters, InvalidParameterError
from deepstep.hyperparameters import FIELD_HELP

# field, bad value, the range the message must state
BAD = [
    ("learning_rate", -1, "a float in (0, inf)"),
    ("learning_rate", 0, "a float in (0, inf)"),
    ("learning_rate", math.nan, "a float in (0, inf)"),
    ("learning_rate", "fast", "a float in (0, inf)"),
    ("epochs", 0, "an int in [1, inf)"),
    ("epochs", 2.5, "an int in [1, inf)"),
    ("momentum", 1.0, "a float in [0, 1)"),
    ("momentum", -0.1, "a float in [0, 1)"),
    ("batch_size", 0, "a positive int, 'auto' or 'full'"),
    ("batch_size", True, "a positive int, 'auto' or 'full'"),
    ("l2", -0.5, "a float in [0, inf)"),
    ("keep_prob", 0.0, "a float in (0, 1]"),
    ("keep_prob", 1.5, "a float in (0, 1]"),
    ("beta2", 1.0, "a float in [0, 1)"),
    ("epsilon", 0.0, "a float in (0, inf)"),
    ("decay_rate", -1.0, "a float in [0, inf)"),
    ("decay_interval", 0, "an int in [1, inf)"),
    ("validation_fraction", 1.0, "a float in [0, 1)"),
    ("early_stopping", "yes", "a bool"),
    ("patience", 0, "an int in [1, inf)"),
    ("min_delta", -1e-3, "a float in [0, inf)"),
    ("shuffle", 1, "a bool"),
    ("seed", -3, "a non-negative int or None"),
    ("layers", (20, 0, 5), "a sequence of positive ints"),
    ("layers", "20,x", "a comma-separated list of positive ints"),
]


BAD_PARAMS = [pytest.param(f, v, e, id=f"{f}={v!r}") for f, v, e in BAD]


@pytest.mark.parametrize("field, value, expected", BAD_PARAMS)
def test_message_names_parameter_range_and_value(field, value, expected):
    with pytest.raises(InvalidParameterError) as info:
        HyperParameters(**{field: value})
    msg = str(info.value)
    assert f"'{field}'" in msg
    assert expected in msg
    assert repr(value) in msg or (isinstance(value, tuple) and str(value) in msg)


@pytest.mark.parametrize("field, value, suggestion", [
    ("optimizer", "adma", "adam"), ("activation", "rleu", "relu"), ("output", "softmx", "softmax"),
    ("init", "xaiver", "xavier"), ("dtype", "float46", "float64"), ("lr_schedule", "stpe", "step"),
    ("preprocess", "standardise", "standardize"),
])
def test_unknown_names_list_choices_and_suggest(field, value, suggestion):
    with pytest.raises(InvalidParameterError) as info:
        HyperParameters(**{field: value})
    msg = str(info.value)
    assert repr(value) in msg and f"Did you mean {suggestion!r}?" in msg and "Allowed:" in msg


def test_softmax_is_not_a_hidden_activation():
    with pytest.raises(InvalidParameterError, match="hidden activation 'softmax'"):
        HyperParameters(activation="softmax")


def test_every_field_is_validated_or_documented():
    assert set(FIELD_HELP) == {f.name for f in dataclasses.fields(HyperParameters)}


@pytest.mark.parametrize("text, want", [("20,7,5", (20, 7, 5)), ("20, 7, 5", (20, 7, 5)),
                                        ("16", (16,)), ("", ()), (8, (8,)), ([4, 3], (4, 3))])
def test_layers_parsing(text, want):
    hp = HyperParameters(layers=text)
    assert hp.layers == want and hp.n_layers == len(want) + 1


def test_per_layer_activation_parsing():
    hp = HyperParameters(layers="20,7,5", activation="relu, tanh, sigmoid")
    assert hp.hidden_activations == ("relu", "tanh", "sigmoid")
    assert HyperParameters(layers=(3, 2), activation="tanh").hidden_activations == ("tanh", "tanh")
    with pytest.raises(InvalidParameterError, match=r"'activation'.*one name or 3 names"):
        HyperParameters(layers=(3, 2, 1), activation=("relu", "tanh"))


def test_frozen_and_replace_validates():
    hp = HyperParameters()
    with pytest.raises(dataclasses.FrozenInstanceError):
        hp.learning_rate = 0.1
    hp2 = hp.replace(learning_rate=0.1)
    assert hp2.learning_rate == 0.1 and hp.learning_rate == 0.001
    with pytest.raises(InvalidParameterError, match="'learning_rate'"):
        hp.replace(learning_rate=-1)


def test_dict_round_trip():
    hp = HyperParameters(layers="8,4", activation=("tanh", "relu"), l2=0.3, optimizer="momentum",
                         batch_size="full", seed=None, dtype="float64")
    d = hp.to_dict()
    assert d["layers"] == [8, 4] and d["activation"] == ["tanh", "relu"]
    back = HyperParameters.from_dict(d)
    assert back == hp
    assert HyperParameters.from_dict(HyperParameters().to_dict()) == HyperParameters()


def test_from_dict_unknown_name_suggests():
    with pytest.raises(InvalidParameterError, match=r"Unknown hyperparameter 'learnig_rate'.*"
                                                    r"Did you mean 'learning_rate'\?"):
        HyperParameters.from_dict({"learnig_rate": 0.1})


def test_seed_hyperparameters_come_first():
    names = [f.name for f in dataclasses.fields(HyperParameters)]
    assert names[:8] == ["learning_rate", "epochs", "layers", "activation", "momentum", "batch_size",
                         "l2", "keep_prob"]


def test_the_design_docs_example_message():
    assert re.search(r"The 'learning_rate' parameter must be a float in \(0, inf\)\. Got -1 instead\.",
                     _message(learning_rate=-1))


def _message(**kw):
    try:
        HyperParameters(**kw)
    except InvalidParameterError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("field, value, expected", BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_message_names_parameter_and_value(field, value, expected):
    """The message starts with the parameter's name and ends with the value given."""
    msg = _message(**{field: value})
    assert msg.startswith(f"The '{field}' parameter must be ")
    assert msg.endswith(" instead.") and (repr(value) in msg or str(value) in msg)


def test_every_field_is_documented_where_users_look():
    """Each hyperparameter has a FIELD_HELP entry and a numpydoc entry in every class that takes it."""
    from deepstep import DeepNetwork
    from deepstep.sklearn import DeepClassifier, DeepRegressor

    names = [f.name for f in dataclasses.fields(HyperParameters)]
    assert sorted(FIELD_HELP) == sorted(names), "FIELD_HELP must have exactly one entry per field"
    for cls in (HyperParameters, DeepNetwork, DeepClassifier, DeepRegressor):
        doc = cls.__doc__
        assert "<hyperparameters>" not in doc, cls.__name__
        for f in dataclasses.fields(HyperParameters):
            assert f"\n    {f.name} : " in doc, f"{cls.__name__}'s docstring has no entry for {f.name}"
            assert FIELD_HELP[f.name].split()[0] in doc.split(f"\n    {f.name} : ", 1)[1], (cls.__name__, f.name)


def test_parameters_doc_shows_each_default():
    from deepstep.hyperparameters import parameters_doc

    text = parameters_doc(defaults={"output": "linear"})
    hp = HyperParameters()
    assert f"learning_rate : float, default={hp.learning_rate!r}" in text
    assert "output : str, default='linear'" in text            # the override, not the field's default
    assert f"layers : tuple of int, default={hp.layers!r}" in text
