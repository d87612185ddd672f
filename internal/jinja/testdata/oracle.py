"""The differential test's oracle: renders templates with Python's Jinja2,
configured as dbt configures it (a sandboxed environment with the do and
loopcontrols extensions and the default Undefined).

Input (stdin): one JSON object per line, each a case:
  {"id": ..., "source": ..., "vars": {...}, "files": {...}, "mode": "render"|"native",
   "undefined": "default"|"strict", "trim_blocks": bool, "lstrip_blocks": bool,
   "keep_trailing_newline": bool}
Output (stdout): one JSON object per line, in the same order:
  {"id": ..., "ok": true, "out": "..."}                       render mode
  {"id": ..., "ok": true, "type": "int", "repr": "1"}         native mode
  {"id": ..., "ok": false, "kind": "UndefinedError", "msg": "..."}

Vars are JSON; an object {"$tuple": [...]} stands for a tuple. The process
stays up until stdin closes, so a test can feed it any number of cases.
"""

import json
import sys

import jinja2
from jinja2 import DictLoader, StrictUndefined, Undefined
from jinja2.nativetypes import NativeCodeGenerator, NativeTemplate
from jinja2.sandbox import SandboxedEnvironment

sys.setrecursionlimit(1000)


class NativeSandbox(SandboxedEnvironment):
    # dbt's NativeSandboxEnvironment: native output at the top level,
    # strings from macros and blocks.
    code_generator_class = NativeCodeGenerator
    template_class = NativeTemplate


def decode(v):
    if isinstance(v, dict):
        if set(v) == {"$tuple"}:
            return tuple(decode(x) for x in v["$tuple"])
        return {k: decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [decode(x) for x in v]
    return v


def render(case):
    cls = NativeSandbox if case.get("mode") == "native" else SandboxedEnvironment
    env = cls(
        extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
        loader=DictLoader(case.get("files") or {}),
        undefined=StrictUndefined if case.get("undefined") == "strict" else Undefined,
        trim_blocks=case.get("trim_blocks", False),
        lstrip_blocks=case.get("lstrip_blocks", False),
        keep_trailing_newline=case.get("keep_trailing_newline", False),
    )
    variables = decode(case.get("vars") or {})
    tpl = env.from_string(case["source"], globals=variables)
    out = tpl.render()
    if case.get("mode") == "native":
        return {"ok": True, "type": type(out).__name__, "repr": repr(out)}
    return {"ok": True, "out": out}


def main():
    for line in sys.stdin:
        case = json.loads(line)
        try:
            res = render(case)
        except BaseException as e:  # noqa: B902 - every failure is a result
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            res = {"ok": False, "kind": type(e).__name__, "msg": str(e)[:500]}
        res["id"] = case.get("id")
        try:
            sys.stdout.write(json.dumps(res) + "\n")
        except (TypeError, ValueError, UnicodeError):
            sys.stdout.write(json.dumps({"id": case.get("id"), "ok": False, "kind": "OracleError",
                                         "msg": "result not encodable"}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    print(json.dumps({"jinja2": jinja2.__version__}), flush=True)
    main()
