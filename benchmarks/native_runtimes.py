"""Per-call cost of the native surrogate runtimes, one row at a time (as a program calls a replaced function):
phasm-perf's C++ MLP forward (``native/runtime/mlp.cpp``) against AOTInductor (``aoti_compile_and_package``, run
by libtorch's ``AOTIModelPackageLoader`` from a small C++ program built against the torch wheel).

    .venv/bin/python benchmarks/native_runtimes.py            # 3 -> 64 -> 64 -> 3 and 2 -> 64 -> 64 -> 48

Prints, per shape and batch size, the fastest of 15 timed groups for each runtime, and the compile/build times.
bench uses the faster one; this script is where that choice is measured.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOADER = r"""
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#include <torch/torch.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
    torch::inductor::AOTIModelPackageLoader loader(argv[1]);
    const int n_in = std::atoi(argv[2]), batch = std::atoi(argv[3]);
    std::vector<at::Tensor> in = {torch::randn({batch, n_in})};
    for (int i = 0; i < 200; ++i) loader.run(in);
    double best = 1e9;
    for (int g = 0; g < 15; ++g) {
        const int inner = 500;
        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < inner; ++i) loader.run(in);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / inner);
    }
    std::printf("%.9g\n", best);
}
"""


def build_loader(tmp: Path) -> Path:
    import torch
    base = Path(torch.__file__).parent
    src = tmp / "loader.cpp"
    src.write_text(LOADER)
    exe = tmp / "loader"
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    cmd = ["g++", "-O2", "-std=c++17", f"-D_GLIBCXX_USE_CXX11_ABI={abi}", "-I", str(base / "include"),
           "-I", str(base / "include" / "torch" / "csrc" / "api" / "include"), str(src), "-o", str(exe),
           "-L", str(base / "lib"), "-ltorch", "-ltorch_cpu", "-lc10", f"-Wl,-rpath,{base / 'lib'}"]
    subprocess.run(cmd, check=True)
    return exe


def main() -> None:
    import torch

    from phasm_perf.bench.train import build_surrogate, export, fold
    from phasm_perf.native.mlp import Runtime, write_weights

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        loader = build_loader(tmp)
        print(f"AOTI loader built in {time.perf_counter() - t0:.0f} s")
        rt = Runtime()
        for n_in, hidden, n_out in [(3, (64, 64), 3), (2, (64, 64), 48)]:
            module = fold(build_surrogate(n_in, n_out, hidden))
            t0 = time.perf_counter()
            pkg = torch._inductor.aoti_compile_and_package(export(module), package_path=str(tmp / "m.pt2"))
            compile_s = time.perf_counter() - t0
            write_weights(module, "relu", tmp / "m.mlp")
            rt.load(tmp / "m.mlp")
            for batch in (1, 16, 256):
                aoti = float(subprocess.run([str(loader), pkg, str(n_in), str(batch)], capture_output=True,
                                            text=True, check=True).stdout)
                mine = rt.seconds(batch, 15)
                print(f"{n_in}->{'->'.join(map(str, hidden))}->{n_out} batch {batch:>4}: mlp-cpp {mine * 1e6:8.2f} us"
                      f"   AOTInductor {aoti * 1e6:8.2f} us   (AOTI compile {compile_s:.0f} s)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
