"""Property checks of the driver protocol itself (spec/16-conformance.md section 3)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.suites import Impl, check, expect

CLASSES = {"Core", "Authority", "Mesh", "Projections", "Engine", "Learning", "WaveGen"}


@check("CONF-002", "CONF-003", "CONF-004", "INTRO-001")
def check_hello(impl: Impl) -> None:
    """hello names the implementation, its spec version and known classes including Core.

    Every call also checks CONF-003/CONF-004: the driver fails the check when a
    response is not one JSON line echoing the request id with `ok` and `result` or `error`.
    """
    out = impl.ok("hello", {"spec_version": "0.1.0", "harness": "strata-conformance"})
    for key in ("name", "version", "spec_version", "classes", "policies"):
        expect(key in out, f"hello result lacks {key!r}")
    classes = set(out["classes"])
    expect(classes <= CLASSES, f"unknown classes claimed: {sorted(classes - CLASSES)}")
    expect(not classes or "Core" in classes, "every class requires Core")


@check("CONF-006", "CONF-004", "CONF-001", "INTRO-002")
@given(name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=20))
def check_unknown_command(impl: Impl, name: str) -> None:
    """An unknown command is answered E_UNSUPPORTED_COMMAND and the session continues (the
    driver checks that the answer is a well-formed error response, CONF-004)."""
    response = impl.call(f"zz.{name}", {})
    expect(not response.ok and response.code == "E_UNSUPPORTED_COMMAND",
           f"unknown command answered {response}")
    impl.ok("hello", {"spec_version": "0.1.0", "harness": "strata-conformance"})


@check("CONF-005", "CONF-001", "INTRO-002")
def check_missing_arguments(impl: Impl) -> None:
    """Missing or mistyped arguments are answered E_BAD_REQUEST and the session continues."""
    impl.err("cbor.decode", {}, "E_BAD_REQUEST")
    impl.err("cbor.decode", {"bytes": 7}, "E_BAD_REQUEST")
    impl.err("id.decode", {"kind": "op"}, "E_BAD_REQUEST")
    impl.ok("cbor.decode", {"bytes": "00"})


@check("CONF-003", "CONF-004", "CONF-005", "CONF-001")
def check_malformed_request_lines(impl: Impl) -> None:
    """Lines that are not requests get E_BAD_REQUEST (id null when unparseable); the session
    continues."""
    for line, rid in (("this is not json", None), ("[1, 2]", None), ('{"id": 7}', 7),
                      ('{"id": 8, "cmd": 5}', 8),
                      ('{"id": 9, "cmd": "cbor.decode", "args": [1]}', 9),
                      ('{"id": 10, "cmd": "hello", "args": []}', 10),
                      ('{"id": 11, "cmd": "cbor.decode", "args": ["bytes"]}', 11),
                      ('{"id": 12, "cmd": "hello", "args": "spec_version"}', 12)):
        response = impl.raw(line, rid)
        expect(not response.ok and response.code == "E_BAD_REQUEST",
               f"{line!r} answered {response}")
    impl.ok("hello", {"spec_version": "0.1.0", "harness": "strata-conformance"})


@check("CONF-010")
def check_unknown_session(impl: Impl) -> None:
    """A session never issued, or one already closed, is E_UNKNOWN_SESSION."""
    impl.err("log.state", {"session": "no-such-session"}, "E_UNKNOWN_SESSION")
    session = impl.ok("log.open", {})["session"]
    impl.ok("log.state", {"session": session})
    impl.ok("log.close", {"session": session})
    impl.err("log.state", {"session": session}, "E_UNKNOWN_SESSION")
    # Session commands of the Projections class: an implementation without them says so.
    for cmd in ("proj.query", "proj.rebuild"):
        for handle in ("no-such-session", session):
            response = impl.call(cmd, {"session": handle, "queries": []})
            expect(not response.ok and response.code in {"E_UNKNOWN_SESSION",
                                                          "E_UNSUPPORTED_COMMAND"},
                   f"{cmd} on session {handle!r} answered {response}")


@check("CONF-007")
@given(number=st.integers(min_value=-(2**53), max_value=2**53))
def check_notation_rejects_json_numbers(impl: Impl, number: int) -> None:
    """An integer in value notation given as a JSON number is E_BAD_REQUEST."""
    impl.err("cbor.encode", {"value": {"int": number}}, "E_BAD_REQUEST")
    out = impl.ok("cbor.encode", {"value": {"int": str(number)}})
    expect(isinstance(out.get("bytes"), str), f"cbor.encode gave {out}")


ARG_NAMES = ["bytes", "value", "op", "kind", "text", "steps", "hash", "did", "public_key",
             "seed", "message", "signature", "payload", "jws", "node", "start", "events", "a",
             "b", "timestamps", "ts"]
json_leaves = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                        st.text(max_size=12), st.sampled_from(["", "00", "0g", "ff" * 32, "op_"]),
                        st.binary(max_size=40).map(bytes.hex))
json_values = st.recursive(json_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(ARG_NAMES + ["int", "map"]),
                                                 inner, max_size=4)), max_leaves=12)


@check("INTRO-002", "CONF-001", "CONF-005")
@given(args=st.dictionaries(st.sampled_from(ARG_NAMES), json_values, max_size=5))
def check_every_command_answers_bad_input(impl: Impl, args: dict[str, object]) -> None:
    """Every command answers arbitrary arguments with a result or a registered error code."""
    for cmd in impl.commands:
        response = impl.call(cmd, args)
        if not response.ok:
            expect(response.code in impl.error_codes,
                   f"{cmd} {args!r} answered unregistered code {response.code}")
    impl.ok("hello", {"spec_version": "0.1.0", "harness": "strata-conformance"})
