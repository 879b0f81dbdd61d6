"""The value-only channel: what crosses the process boundary and what is refused."""

import io

import numpy as np
import pytest

from mlplab.sandbox.values import ChannelError, Handle, decode, encode, read_message, write_message


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, np.bool_])
def test_arrays_round_trip_with_dtype_and_shape(dtype):
    arr = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)
    back = decode(encode(arr))
    assert back.dtype == arr.dtype and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_nested_values_keep_tuples_dicts_and_handles():
    value = {"a": (1, 2.5, "x", None, True), "b": [np.zeros(2)], "h": Handle(7, "Model")}
    back = decode(encode(value))
    assert back["a"] == (1, 2.5, "x", None, True)
    assert isinstance(back["h"], Handle) and back["h"].id == 7


def test_object_arrays_and_arbitrary_objects_are_refused():
    with pytest.raises(ChannelError):
        encode(np.array([object()], dtype=object))
    with pytest.raises(ChannelError):
        encode(object())


def test_forged_messages_cannot_build_objects():
    for forged in [{"__nd__": "AAAA", "dtype": "|O", "shape": [1]}, {"__class__": "os.system"}, {"__nd__": "!!"}]:
        with pytest.raises((ChannelError, ValueError)):
            decode(forged)


def test_framing_rejects_truncated_and_garbage_messages():
    buf = io.BytesIO()
    write_message(buf, {"ok": encode(np.ones(3))})
    raw = buf.getvalue()
    assert decode(read_message(io.BytesIO(raw))["ok"]).tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ChannelError):
        read_message(io.BytesIO(raw[:-3]))
    with pytest.raises(ChannelError):
        read_message(io.BytesIO(raw[:8] + b"\xff" * (len(raw) - 8)))
