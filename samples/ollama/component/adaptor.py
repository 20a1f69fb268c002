"""A wasmCloud 0.x adaptor as a real Wasm component (componentize-py, world `ollama:adaptor/adaptor`).

It exports `ollama:llm/llm`; each call is encoded as MessagePack (camelCase maps, as
`rmp_serde::to_vec_named` writes them), sent with
`wasmcloud:bus/host.call-sync(none, "ollama:llm/Llm.Chat", payload)`, and the answer
(`{"Ok": ..}` / `{"Err": ..}`) decoded by hand, as the Go adaptor of
Iceber/wasmcloud-ollama does. The WIT folder it is built from holds `adaptor.wit` with
`deps/` for `wasmcloud:bus` (2024-02), `wasi:io@0.2.0` and `ollama:llm`.
"""

import struct

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import llm
from wit_world.imports import host

# --------------------------------------------------------------------------- MessagePack (the subset used)


def pack(v: object) -> bytes:
    if v is None:
        return b"\xc0"
    if v is True or v is False:
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 0x80:
            return bytes([v])
        if 0 <= v < 1 << 64:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        raw = v.encode()
        return b"\xdb" + struct.pack(">I", len(raw)) + raw
    if isinstance(v, bytes):
        return b"\xc6" + struct.pack(">I", len(v)) + v
    if isinstance(v, list):
        return b"\xdd" + struct.pack(">I", len(v)) + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        return b"\xdf" + struct.pack(">I", len(v)) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(f"cannot pack {type(v).__name__}")


def unpack(data: bytes) -> object:
    value, pos = _read(data, 0)
    if pos != len(data):
        raise ValueError("trailing bytes after the MessagePack value")
    return value


def _read(b: bytes, p: int) -> tuple[object, int]:
    t = b[p]
    p += 1
    if t < 0x80:
        return t, p
    if t >= 0xE0:
        return t - 0x100, p
    if 0x80 <= t <= 0x8F:
        return _map(b, p, t & 0x0F)
    if 0x90 <= t <= 0x9F:
        return _array(b, p, t & 0x0F)
    if 0xA0 <= t <= 0xBF:
        n = t & 0x1F
        return b[p : p + n].decode(), p + n
    if t == 0xC0:
        return None, p
    if t in (0xC2, 0xC3):
        return t == 0xC3, p
    sizes = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}
    if t in sizes:
        k = sizes[t]
        n = int.from_bytes(b[p : p + k], "big")
        p += k
        raw = b[p : p + n]
        return (raw if t <= 0xC6 else raw.decode()), p + n
    ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
            0xCA: ">f", 0xCB: ">d"}  # fmt: skip
    if t in ints:
        fmt = ints[t]
        k = struct.calcsize(fmt)
        return struct.unpack(fmt, b[p : p + k])[0], p + k
    if t in (0xDC, 0xDD, 0xDE, 0xDF):
        k = 2 if t in (0xDC, 0xDE) else 4
        n = int.from_bytes(b[p : p + k], "big")
        return (_array if t <= 0xDD else _map)(b, p + k, n)
    raise ValueError(f"unsupported MessagePack type byte {t:#x}")


def _array(b: bytes, p: int, n: int) -> tuple[object, int]:
    out = []
    for _ in range(n):
        v, p = _read(b, p)
        out.append(v)
    return out, p


def _map(b: bytes, p: int, n: int) -> tuple[object, int]:
    out = {}
    for _ in range(n):
        k, p = _read(b, p)
        v, p = _read(b, p)
        out[k] = v
    return out, p


# --------------------------------------------------------------------------- the adaptor


def _call(operation: str, payload: object) -> dict:
    """Send one 0.x call; return the `Ok` payload or raise `Err(status-error)`."""
    try:
        answer = host.call_sync(None, operation, pack(payload))
    except Err as failed:  # the host could not route or run it
        raise Err(llm.StatusError(status_code=502, status="502 Bad Gateway", error_message=failed.value)) from None
    decoded = unpack(answer)
    if "Err" in decoded:
        e = decoded["Err"]
        raise Err(llm.StatusError(status_code=e["statusCode"], status=e["status"], error_message=e["errorMessage"]))
    return decoded["Ok"]


def _message(m: dict) -> llm.Message:
    return llm.Message(role=m["role"], content=m["content"])


def _details(d: dict) -> llm.ModelDetails:
    return llm.ModelDetails(
        format=d["format"],
        family=d["family"],
        families=list(d["families"]),
        parameter_size=d["parameterSize"],
        quantization_level=d["quantizationLevel"],
    )


class Llm(exports.Llm):
    def chat(self, req: llm.ChatRequest) -> llm.ChatResponse:
        payload = {"model": req.model, "messages": [{"role": m.role, "content": m.content} for m in req.messages]}
        r = _call("ollama:llm/Llm.Chat", payload)
        return llm.ChatResponse(
            model=r["model"],
            created_at=r["createdAt"],
            message=_message(r["message"]),
            done=r["done"],
            total_duration=r["totalDuration"],
            eval_count=r["evalCount"],
        )

    def show(self, req: llm.ShowRequest) -> llm.ShowResponse:
        r = _call("ollama:llm/Llm.Show", {"name": req.name})
        return llm.ShowResponse(
            license=r["license"],
            modelfile=r["modelfile"],
            parameters=r["parameters"],
            template=r["template"],
            details=_details(r["details"]),
        )

    def list(self) -> llm.ListResponse:
        r = _call("ollama:llm/Llm.List", None)
        return llm.ListResponse(
            models=[
                llm.ModelResponse(
                    name=m["name"],
                    modified_at=m["modifiedAt"],
                    size=m["size"],
                    digest=m["digest"],
                    details=_details(m["details"]),
                )
                for m in r["models"]
            ]
        )
