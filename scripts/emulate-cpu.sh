#!/usr/bin/env bash
# Runs one command on an emulated x86-64 CPU (qemu user mode, TCG), e.g. to measure int8 accuracy where
# onnxruntime's U8S8 kernels saturate (AVX2 without VNNI: VPMADDUBSW). See bench/README.md,
# "int8 on CPUs without VNNI, emulated".
#
#   scripts/emulate-cpu.sh haswell node dist/cli.js bench model.onnx --data … --limit 100 --runs 1
#
# CPU: haswell (AVX2 + FMA, no AVX-512, no VNNI), nehalem (SSE4.2, no AVX), or any `qemu-x86_64 -cpu`
# model string. qemu 7.2's TCG has no AVX-512 at all, so AVX-512 CPUs cannot be emulated.
# Only the command's own process is emulated (worker_threads included); child processes it spawns run
# natively on the host CPU. Expect it to be 200–2000× slower: keep runs to a handful of inferences.
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 haswell|nehalem|<qemu cpu model> <command> [args…]" >&2
  exit 2
fi
cpu=$1; shift
case "$cpu" in
  # Haswell minus the flags TCG cannot provide (otherwise qemu warns about each on every start).
  haswell|Haswell) cpu=Haswell,-pcid,-x2apic,-tsc-deadline,-hle,-rtm,-invpcid ;;
  nehalem) cpu=Nehalem ;;
esac

if [ "$(uname -m)" != x86_64 ]; then
  echo "$0: needs an x86-64 host (qemu-x86_64 in user mode)" >&2
  exit 1
fi
if ! command -v qemu-x86_64 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$0: installing qemu-user (provides qemu-x86_64)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-user >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-user >&2; }
  else
    echo "$0: qemu-x86_64 is missing; install it with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends qemu-user" >&2
    exit 1
  fi
fi

# qemu-user loads ELF executables only: resolve the command to its binary (`node`, not a shebang script).
exe=$(command -v "$1" || true)
if [ -z "$exe" ] || [ "$(head -c 4 "$exe" | od -An -c | tr -d ' ')" != '177ELF' ]; then
  echo "$0: '$1' is not an ELF executable; give the binary itself (e.g. node script.js, not npm or a script)" >&2
  exit 1
fi
shift
exec qemu-x86_64 -cpu "$cpu" "$exe" "$@"
