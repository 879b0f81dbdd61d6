"""bf16 autocast only on GPUs with native bf16 (notebook 05's engine), with the device mocked."""

from __future__ import annotations

import sys

import pytest
import torch

from .helpers.paths import SOURCE

sys.path.insert(0, str(SOURCE))

from labutils.cifar_gpu import choose_amp, lab_config, native_bf16  # noqa: E402

GPUS = {  # name -> (compute capability, what is_bf16_supported answers with / without emulation)
    "Tesla T4": ((7, 5), True, False),
    "Tesla P100-PCIE-16GB": ((6, 0), False, False),
    "Tesla V100-SXM2-16GB": ((7, 0), True, False),
    "NVIDIA A100-SXM4-40GB": ((8, 0), True, True),
    "NVIDIA H200": ((9, 0), True, True),
}


def _mock_gpu(monkeypatch, name: str, old_torch: bool = False) -> None:
    capability, emulated, native = GPUS[name]
    if old_torch:  # PyTorch < 2.3: no including_emulation argument, answers True on any cuda >= 11
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    else:
        monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                            lambda including_emulation=True: emulated if including_emulation else native)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)


@pytest.mark.parametrize("old_torch", [False, True], ids=["torch>=2.3", "torch<2.3"])
@pytest.mark.parametrize("name", sorted(GPUS))
def test_bf16_autocast_only_on_gpus_with_native_bf16(monkeypatch, name, old_torch):
    _mock_gpu(monkeypatch, name, old_torch)
    native = GPUS[name][0] >= (8, 0)
    cuda = torch.device("cuda")
    assert native_bf16(cuda) is native
    amp, note = choose_amp(cuda)
    assert amp is native
    if native:
        assert note is None
    else:  # float32 on T4 / P100 / V100, and the notebook says so
        assert "no native bfloat16" in note and name in note and "float32" in note


def test_amp_off_on_request_and_never_forced_onto_an_emulating_gpu(monkeypatch):
    _mock_gpu(monkeypatch, "NVIDIA H200")
    assert choose_amp("cuda", requested=False) == (False, None)
    _mock_gpu(monkeypatch, "Tesla T4")
    amp, note = choose_amp("cuda", requested=True)
    assert amp is False and "Tesla T4" in note


def test_amp_on_cpu_only_when_asked():
    assert choose_amp("cpu") == (False, None)
    assert choose_amp("cpu", requested=True) == (True, None)
    assert native_bf16("cpu") is False


def test_lab_config_on_a_mocked_t4_trains_in_float32_and_notes_why(monkeypatch):
    _mock_gpu(monkeypatch, "Tesla T4")
    monkeypatch.delenv("MLPLAB_AMP", raising=False)
    monkeypatch.setenv("MLPLAB_QUICK", "1")
    monkeypatch.setattr("labutils.cifar_gpu.configure_torch", lambda device: None)
    cfg = lab_config("cuda")
    assert cfg.amp is False and cfg.amp_dtype is None
    assert any("no native bfloat16" in note for note in cfg.notes)
    _mock_gpu(monkeypatch, "NVIDIA A100-SXM4-40GB")
    cfg = lab_config("cuda")
    assert cfg.amp is True and cfg.amp_dtype is torch.bfloat16
