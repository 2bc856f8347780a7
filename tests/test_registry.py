"""The SQLite registry: schema, checks on open, bulk insert, indexed selection."""

from __future__ import annotations

import sqlite3

import pytest
from pipetask.butler.registry import Registry
from pipetask.dataid import parseId
from pipetask.errors import ButlerError

KEYS = {"visit": int, "ccd": int}


def test_schema_has_typed_key_columns_and_an_index(tmp_path):
    registry = Registry(str(tmp_path / "r.sqlite3"), KEYS, "synth")
    registry.insertMany("raw", [(1, 0), (1, 1)], lambda r: f"raw/{r[0]}_{r[1]}")
    conn = sqlite3.connect(tmp_path / "r.sqlite3")
    columns = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(dataset)")}
    assert columns["visit"] == "INTEGER" and columns["ccd"] == "INTEGER"
    where, params = parseId(["visit=1..9:2", "ccd=3^5"], KEYS).where()
    plan = " ".join(
        str(row[-1])
        for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT visit, ccd FROM dataset WHERE dataset_type = ? "
            f"AND ({where}) ORDER BY visit, ccd",
            ["raw", *params],
        )
    )
    assert "dataset_keys" in plan and "TEMP B-TREE" not in plan


def test_registry_of_another_camera_is_refused(tmp_path):
    path = str(tmp_path / "r.sqlite3")
    Registry(path, KEYS, "synth").count()
    with pytest.raises(ButlerError, match="made for camera 'synth'"):
        Registry(path, {"visit": int, "filter": str}, "test").count()


def test_not_a_registry(tmp_path):
    path = tmp_path / "r.sqlite3"
    path.write_bytes(b"garbage" * 100)
    with pytest.raises(ButlerError, match="is not a pipetask registry"):
        Registry(str(path), KEYS, "synth").count()


def test_read_only_missing_registry_is_empty(tmp_path):
    registry = Registry(str(tmp_path / "none.sqlite3"), KEYS, "synth", readonly=True)
    assert registry.count() == 0 and registry.select("raw", "1", []) == []
    assert not (tmp_path / "none.sqlite3").exists()
    with pytest.raises(ButlerError, match="read-only"):
        registry.transaction()


def test_select_returns_key_order_and_paths_are_unique(tmp_path):
    registry = Registry(str(tmp_path / "r.sqlite3"), KEYS, "synth")
    rows = [(v, c) for v in (5, 1, 3) for c in (2, 0)]
    assert registry.insertMany("raw", rows, lambda r: f"raw/{r[0]}_{r[1]}") == 6
    assert registry.select("raw", "1", []) == sorted(rows)
    with pytest.raises(sqlite3.IntegrityError):
        registry.insertMany("raw", [(1, 0)], lambda r: "raw/1_0")
    assert registry.count("raw") == 6
    assert registry.find("raw", {"ccd": 2}) == [((v, 2), f"raw/{v}_2") for v in (1, 3, 5)]
