from repro.capture import hardware

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
flags\t\t: fpu sse2 sse4_1 sse4_2 avx avx2 fma avx512f avx512bw ht

processor\t: 1
vendor_id\t: GenuineIntel
"""


def test_parse_cpuinfo_keeps_only_numerics_relevant_flags():
    cpu = hardware.parse_cpuinfo(CPUINFO)
    assert cpu["vendor"] == "GenuineIntel" and cpu["model"].startswith("Intel(R) Xeon")
    assert cpu["flags"] == ["avx", "avx2", "avx512bw", "avx512f", "fma", "sse2", "sse4_1", "sse4_2"]


def test_parse_nvidia_smi():
    gpus = hardware.parse_nvidia_smi("NVIDIA H100 80GB HBM3, 550.54.15, 81559, GPU-1234, 9.0\n")
    assert gpus == [{"name": "NVIDIA H100 80GB HBM3", "driver": "550.54.15", "memory_mib": 81559,
                     "uuid": "GPU-1234", "compute_capability": "9.0"}]


def test_capture_on_this_machine():
    hw = hardware.capture()
    assert hw["cpu"]["logical_cores"] >= 1 and hw["memory_bytes"] > 0 and isinstance(hw["gpus"], list)
