#!/bin/sh
# Regenerates leakscope's own Go fixtures: builds testdata/go-gen, runs it into testdata/profiles/
# and records `go tool pprof -top` output for them in testdata/golden/ (exact text, headers
# included). Needs Go (tested with 1.19). Usage: scripts/gen-fixtures.sh [--goldens-only]
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
profiles="$root/testdata/profiles"
golden="$root/testdata/golden"
mkdir -p "$profiles" "$golden"

# pprof prints Time: in the local zone; symbolization must not look for binaries.
export TZ=UTC
export PPROF_BINARY_PATH=/nonexistent
export PPROF_TMPDIR="${TMPDIR:-/tmp}"

if [ "${1:-}" != "--goldens-only" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd testdata/go-gen && go build -trimpath -o "$work/gogen" .)
  "$work/gogen" -out "$profiles"
fi

# golden NAME ARGS... : runs `go tool pprof ARGS` from testdata/ (so File paths are relative)
golden() {
  name=$1
  shift
  (cd testdata && go tool pprof "$@" 2>/dev/null) >"$golden/$name"
  echo "testdata/golden/$name: go tool pprof $*"
}

{
golden heap.inuse_space.top.txt -top -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_space.unit_B.top.txt -top -unit=B -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_space.all.unit_B.top.txt -top -unit=B -nodecount=100000 -nodefraction=0 -edgefraction=0 -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_space.cum.top.txt -top -cum -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_space.lines.top.txt -top -lines -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_space.nodecount5.top.txt -top -nodecount=5 -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_space.focus.top.txt -top -focus=main.handleRequest -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_space.ignore.top.txt -top -ignore=newSession -sample_index=inuse_space profiles/heap.pb.gz
golden heap.inuse_objects.top.txt -top -sample_index=inuse_objects profiles/heap.pb.gz
golden heap.alloc_space.top.txt -top -sample_index=alloc_space profiles/heap.pb.gz
golden heap.alloc_objects.top.txt -top -sample_index=alloc_objects profiles/heap.pb.gz
golden heap.diff_base.top.txt -top -sample_index=inuse_space -diff_base=profiles/heap.base.pb.gz profiles/heap.pb.gz
golden heap.diff_base.unit_B.top.txt -top -unit=B -sample_index=inuse_space -diff_base=profiles/heap.base.pb.gz profiles/heap.pb.gz
golden heap.base.top.txt -top -sample_index=inuse_space -base=profiles/heap.base.pb.gz profiles/heap.pb.gz
golden allocs.top.txt -top profiles/allocs.pb.gz
golden goroutine.top.txt -top profiles/goroutine.pb.gz
golden cpu.top.txt -top profiles/cpu.pb.gz
golden cpu.unit_ns.top.txt -top -unit=ns profiles/cpu.pb.gz
golden cpu.samples.top.txt -top -sample_index=samples profiles/cpu.pb.gz
golden cpu.lines.top.txt -top -lines profiles/cpu.pb.gz
golden heap.inuse_space.tags.txt -tags profiles/heap.pb.gz
golden heap.alloc_space.unit_B.tagfocus.tags.txt -tags -sample_index=alloc_space -unit=B -tagfocus=bytes=1kb:64kb profiles/heap.pb.gz
} >"$golden/COMMANDS.txt"
cat "$golden/COMMANDS.txt"
