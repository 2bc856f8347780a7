"""Struct: attribute access, repr, dict conversion and the pex-style naming rules."""

from __future__ import annotations

import pytest
from pipetask import Struct


def test_attributes_and_dict():
    result = Struct(mean=1.5, meanErr=0.25, count=3)
    assert result.mean == 1.5
    assert result.count == 3
    assert result.getDict() == {"mean": 1.5, "meanErr": 0.25, "count": 3}
    assert len(result) == 3
    assert dict(iter(result)) == result.getDict()


def test_getDict_is_a_copy():
    result = Struct(a=1)
    d = result.getDict()
    d["a"] = 2
    d["b"] = 3
    assert result.a == 1
    assert not hasattr(result, "b")


def test_repr_uses_semicolons_in_order():
    result = Struct(mean=1.5, meanErr=0.25, label="g")
    assert repr(result) == "Struct(mean=1.5; meanErr=0.25; label='g')"


def test_repr_of_numpy_scalar_is_plain():
    np = pytest.importorskip("numpy")
    result = Struct(mean=np.float64(2.5), n=np.int64(4))
    assert repr(result) == "Struct(mean=2.5; n=4)"


@pytest.mark.parametrize("name", ["getDict", "mergeItems", "copy"])
def test_name_hiding_a_method_is_rejected(name):
    with pytest.raises(RuntimeError, match=f"Item {name} already exists"):
        Struct(**{name: 1})


def test_dunder_name_is_rejected():
    with pytest.raises(RuntimeError, match="must not begin with __"):
        Struct(**{"__x": 1})


def test_merge_and_copy_and_equality():
    a = Struct(x=1, y=2)
    b = Struct(z=3, w=4)
    a.mergeItems(b, "z")
    assert a.getDict() == {"x": 1, "y": 2, "z": 3}
    with pytest.raises(RuntimeError, match="already exists"):
        a.mergeItems(b, "w", "z")
    # Names merged before the failing one stay merged (as in the original).
    assert a.w == 4
    c = a.copy()
    assert c == a
    assert c is not a
    assert Struct(x=1) != Struct(x=2)
    assert Struct(x=1) != {"x": 1}


def test_struct_is_unhashable():
    with pytest.raises(TypeError):
        hash(Struct(x=1))
