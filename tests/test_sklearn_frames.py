"""DeepClassifier / DeepRegressor on DataFrames with text and missing values (palmerpenguins' raw data),
when asked (``categorical=``, ``impute=``); the defaults stay numbers only, with clear errors."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from deepstep import DeepNetwork, tabular
from deepstep.sklearn import DeepClassifier, DeepRegressor

pd = pytest.importorskip("pandas")
FAST = dict(epochs=40, layers=(16,), learning_rate=0.01)


@pytest.fixture(scope="module")
def penguins():
    pp = pytest.importorskip("palmerpenguins")
    path = Path(pp.__file__).parent / "data" / "penguins.csv"
    if not path.exists():
        pytest.skip("palmerpenguins ships no penguins.csv")
    df = pd.read_csv(path)
    return df.drop(columns=["species"]), df["species"]


def test_the_defaults_refuse_text_and_missing_values_naming_column_and_option(penguins):
    X, y = penguins
    with pytest.raises(ValueError, match=r"Column 'island' of X holds text.*categorical='auto'"):
        DeepClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"Column 'bill_length_mm' of X has 2 missing values.*impute='median'"):
        DeepClassifier(**FAST).fit(X.select_dtypes("number"), y)
    with pytest.raises(ValueError, match=r"'bill_length_mm' is missing a value.*impute='median'"):
        DeepClassifier(categorical="auto", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="'categorical' parameter of DeepClassifier"):
        DeepClassifier(categorical=3, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="'impute' parameter of DeepRegressor"):
        DeepRegressor(impute="zero", **FAST).fit(X.select_dtypes("number").fillna(0), np.arange(len(X)))


def test_text_and_missing_values_encoded_as_the_command_line_does(penguins, capsys):
    X, y = penguins
    clf = DeepClassifier(categorical="auto", impute="median", verbose=1, **FAST).fit(X, y)
    err = capsys.readouterr().err
    assert "DeepClassifier: input encoding: 7 columns -> 10 features" in err
    assert "island 3, sex 2" in err and "sex 11 -> 'male'" in err
    enc = clf.encoding_
    assert enc["one_hot"] == {"island": 3, "sex": 2}
    assert enc["imputed_with"]["bill_length_mm"] == float(X["bill_length_mm"].median())
    assert enc["imputed_with"]["sex"] == X["sex"].mode()[0]
    assert list(clf.feature_names_in_) == list(X.columns) and clf.n_features_in_ == 7
    names = clf.get_feature_names_out()
    assert list(names[:3]) == ["island_Biscoe", "island_Dream", "island_Torgersen"] and len(names) == 10
    # the same encoding as tabular.TabularEncoder fitted on the same rows (the CLI's)
    ref = tabular.TabularEncoder.fit(tabular.from_frame(X), list(X.columns), "median")
    assert clf.network_.tabular.columns == ref.columns
    assert clf.score(X, y) > 0.9


def test_predict_takes_columns_by_name_and_zeroes_unseen_categories_once(penguins):
    X, y = penguins
    clf = DeepClassifier(categorical="auto", impute="median", **FAST).fit(X, y)
    shuffled = X[list(reversed(X.columns))].copy()
    assert (clf.predict(shuffled) == clf.predict(X)).all()            # by name, not by position
    with pytest.raises(ValueError, match=r"lacks the columns 'island', 'sex'"):
        clf.predict(X.drop(columns=["island", "sex"]))
    odd = X.copy()
    odd.loc[:5, "island"] = "Atlantis"
    odd.loc[7, "sex"] = "unknown"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proba = clf.predict_proba(odd)
    unseen = [w for w in caught if "not seen in training" in str(w.message)]
    assert len(unseen) == 1 and "'Atlantis'" in str(unseen[0].message) and "'unknown'" in str(unseen[0].message)
    assert np.isfinite(proba).all()
    Xe = clf.network_.tabular.transform(tabular.from_frame(odd))
    assert (Xe[:3, :6] == 0).all()                                    # island's one-hot features: all zero


def test_the_encoding_survives_the_model_file_and_fits_on_training_rows_only(penguins, tmp_path):
    X, y = penguins
    train, test = X.iloc[::2], X.iloc[1::2]
    reg = DeepRegressor(categorical=["island", "sex", "year"], impute="mean", **FAST)
    reg.fit(train.drop(columns=["body_mass_g"]), train["body_mass_g"].fillna(4000))
    enc = reg.encoding_
    assert enc["one_hot"] == {"island": 3, "sex": 2, "year": 3}       # numeric codes one-hot when named
    assert enc["imputed_with"]["bill_depth_mm"] == pytest.approx(train["bill_depth_mm"].mean())
    path = tmp_path / "reg.npz"
    reg.network_.save(path)
    back = DeepRegressor.from_network(DeepNetwork.load(path))
    assert back.encoding_ == enc and list(back.feature_names_in_) == list(reg.feature_names_in_)
    Xt = test.drop(columns=["body_mass_g"])
    assert np.allclose(back.predict(Xt), reg.predict(Xt))
    with pytest.raises(ValueError, match="holds text but is not in categorical"):
        DeepRegressor(categorical=["island"], impute="mean", **FAST).fit(Xt, np.arange(len(Xt), dtype=float))


def test_arrays_with_missing_values_and_warm_starts_reuse_the_encoder(penguins):
    X, y = penguins
    A = X.select_dtypes("number").to_numpy()                          # NaN in rows 3 and 271
    clf = DeepClassifier(impute="median", **FAST).fit(A, y)
    assert clf.encoding_["one_hot"] == {} and not hasattr(clf, "feature_names_in_")
    assert clf.predict(A).shape == (len(A),)
    clf.set_params(warm_start=True).fit(A[:100], y[:100])             # the first fit's medians, not these rows'
    assert clf.encoding_["imputed_with"]["x0"] == float(np.nanmedian(A[:, 0]))


def test_missing_labels_are_refused_with_rows_and_the_way_out(penguins):
    X, y = penguins
    y = y.copy()
    y.iloc[[3, 5]] = None
    with pytest.raises(ValueError, match=r"y has 2 missing labels \(rows 3, 5, 0-based\).*y.notna\(\)"):
        DeepClassifier(categorical="auto", impute="median", **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"y has 1 missing label \(rows 0"):
        DeepRegressor(**FAST).fit(np.ones((4, 2)), [np.nan, 1.0, 2.0, 3.0])



def test_a_frame_column_of_formatted_numbers_is_refused_with_the_pandas_fix():
    from deepstep.errors import DataError

    X = pd.DataFrame({"income": ["1,200", "25,000", "812", "1,234,567"] * 10, "age": np.arange(40.0)})
    y = np.arange(40) % 2
    with pytest.raises(DataError, match=r"thousands separators.*pd\.to_numeric\(X\['income'\]"):
        DeepClassifier(categorical="auto", epochs=2).fit(X, y)
    DeepClassifier(categorical=["income"], epochs=2).fit(X, y)     # categories, when asked
