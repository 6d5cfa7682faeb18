"""The external vectors (vectors/external/): schema-valid and checked against independent oracles.

These files are transcribed from third-party sources, not generated, so nothing else
catches a transcription error: the checks here recompute them with libraries that share
no code with the reference (blake3, cbor2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import blake3
import cbor2
import jsonschema
import pytest

from reference.driver import dispatch

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = ROOT / "vectors" / "external"
SCHEMA = json.loads((ROOT / "vectors" / "schemas" / "vector-file.schema.json").read_text())
RFC8949 = EXTERNAL / "rfc8949" / "appendix-a.json"
BLAKE3 = EXTERNAL / "blake3" / "test-vectors.json"
FILES = sorted(EXTERNAL.rglob("*.json"))


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def cases(path: Path, result: str | None = None, code: str | None = None) -> list[dict[str, Any]]:
    """The cases of one file, optionally only those with this result and error code."""
    return [
        c for c in load(path)["cases"]
        if (result is None or c["result"] == result)
        and (code is None or c.get("error", {}).get("code") == code)
    ]


def ids(path: Path, result: str | None = None, code: str | None = None) -> list[str]:
    return [c["id"] for c in cases(path, result, code)]


# --- every external file --------------------------------------------------------------


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(EXTERNAL).as_posix())
def test_external_file_matches_schema(path: Path) -> None:
    """Each external vector file validates against vectors/schemas/vector-file.schema.json."""
    doc = load(path)
    jsonschema.validate(doc, SCHEMA)
    assert doc["spec_version"] == "0.1.0" and doc.get("_comment")
    assert len({c["id"] for c in doc["cases"]}) == len(doc["cases"]), "duplicate case ids"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(EXTERNAL).as_posix())
def test_external_file_has_readme(path: Path) -> None:
    """Each external folder records its source in a README.md."""
    readme = path.parent / "README.md"
    assert readme.exists() and "Source" in readme.read_text(encoding="utf-8")


def test_reference_reproduces_new_external_vectors() -> None:
    """The reference answers every RFC 8949 and BLAKE3 case exactly as recorded."""
    for path in (RFC8949, BLAKE3):
        for case in cases(path):
            response = dispatch({"id": 0, "cmd": case["command"], "args": case["input"]})
            if case["result"] == "valid":
                assert response["ok"] and response["result"] == case["output"], case["id"]
            else:
                assert not response["ok"], case["id"]
                assert response["error"]["code"] == case["error"]["code"], case["id"]


# --- BLAKE3 official test vectors -----------------------------------------------------


def blake3_input(n: int) -> bytes:
    """The official vectors' input of length n: byte i is i % 251."""
    return bytes(i % 251 for i in range(n))


def test_blake3_file_shape() -> None:
    """The BLAKE3 file holds the official cases up to 8192 bytes as `hash.bytes` of ID-008."""
    doc = load(BLAKE3)
    assert (doc["chapter"], doc["topic"]) == ("04-identifiers-and-hashing", "blake3-official")
    lengths = [len(bytes.fromhex(c["input"]["bytes"])) for c in doc["cases"]]
    assert lengths == [0, 1, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097,
                       5120, 5121, 6144, 6145, 7168, 7169, 8192]
    for case in doc["cases"]:
        assert case["command"] == "hash.bytes" and case["requirements"] == ["ID-008"]
        assert case["result"] == "valid" and set(case["output"]) == {"hash"}


@pytest.mark.parametrize("case", cases(BLAKE3), ids=lambda c: c["id"])
def test_blake3_vector_recomputes(case: dict[str, Any]) -> None:
    """The input follows the i % 251 rule and the blake3 package gives the recorded hash."""
    data = bytes.fromhex(case["input"]["bytes"])
    assert case["id"] == f"input-len-{len(data)}"
    assert data == blake3_input(len(data))
    assert blake3.blake3(data).hexdigest() == case["output"]["hash"]


# --- RFC 8949 Appendix A --------------------------------------------------------------


def test_rfc8949_file_shape() -> None:
    """All 81 rows of RFC 8949 Table 6 are present as `cbor.decode` cases of chapter 03."""
    doc = load(RFC8949)
    assert (doc["chapter"], doc["topic"]) == ("03-wire-format", "rfc8949-appendix-a")
    assert len(doc["cases"]) == 81
    assert len(cases(RFC8949, "valid")) == 49
    assert len(cases(RFC8949, "invalid", "E_CBOR_UNSUPPORTED")) == 21
    assert len(cases(RFC8949, "invalid", "E_NONCANONICAL")) == 11
    for case in doc["cases"]:
        assert case["command"] == "cbor.decode"
        assert all(r.startswith("WIRE-") for r in case["requirements"])
    # Table 6 drops RFC 7049's simple(24) row (0xf818, not well-formed since RFC 8949).
    assert "f818" not in {c["input"]["bytes"] for c in doc["cases"]}


@pytest.mark.parametrize("case", cases(RFC8949, "valid"), ids=lambda c: c["id"])
def test_rfc8949_valid_case_round_trips_through_cbor2(case: dict[str, Any]) -> None:
    """A valid case's bytes are canonical by cbor2 too: decode then canonical encode is identity."""
    data = bytes.fromhex(case["input"]["bytes"])
    assert cbor2.dumps(cbor2.loads(data), canonical=True) == data


@pytest.mark.parametrize("case", cases(RFC8949, "invalid", "E_NONCANONICAL"),
                         ids=lambda c: c["id"])
def test_invalid_rfc8949_noncanonical_case_is_not_canonical_for_cbor2(case: dict[str, Any]) -> None:
    """A case expected E_NONCANONICAL is well-formed for cbor2 but not its canonical encoding."""
    data = bytes.fromhex(case["input"]["bytes"])
    assert cbor2.dumps(cbor2.loads(data), canonical=True) != data


@pytest.mark.parametrize("case", cases(RFC8949, "invalid", "E_CBOR_UNSUPPORTED"),
                         ids=lambda c: c["id"])
def test_invalid_rfc8949_unsupported_case_is_well_formed(case: dict[str, Any]) -> None:
    """A case expected E_CBOR_UNSUPPORTED is well-formed CBOR (cbor2 decodes it), not malformed."""
    data = bytes.fromhex(case["input"]["bytes"])
    cbor2.loads(data)
