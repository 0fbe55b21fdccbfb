#!/bin/sh
# Repeat all reference measurements. Results go to results/<case>-run<N>/.
# RAM: -m 262136K (= 256 MiB - 8 KiB = 268427264 bytes; not a multiple of 256 KiB).
set -e
cd "$(dirname "$0")"
./build.sh
MEM=262136K
for i in 1 2 3; do
  echo "== $(date -u +%T) $(uptime)"
  python3 qmp.py a_idle        $i --mem $MEM
  python3 qmp.py b_fill        $i --mem $MEM --kernel kernel-fill.elf
  python3 qmp.py c_write       $i --mem $MEM --kernel kernel-write.elf --timeout 60
  python3 qmp.py d_write_ac    $i --mem $MEM --kernel kernel-write.elf --timeout 60 --cap auto-converge
  python3 qmp.py d_fill_xbzrle $i --mem $MEM --kernel kernel-fill.elf --cap xbzrle
done 2>&1 | tee run.log
# extra: writers whose working set fits under the downtime threshold (converge)
for i in 1 2 3; do
  echo "== $(date -u +%T) $(uptime)"
  python3 qmp.py e_write_ws4M $i --mem $MEM --kernel kernel-write-ws4M.elf --ws-pages 1024 --timeout 60
  python3 qmp.py e_write_ws8M $i --mem $MEM --kernel kernel-write-ws8M.elf --ws-pages 2048 --timeout 60
done 2>&1 | tee -a run.log
# extra: idle guest with ~1 GiB RAM (1 GiB - 8 KiB)
for i in 1 2 3; do
  echo "== $(date -u +%T) $(uptime)"
  python3 qmp.py a_idle_1G $i --mem 1048568K
done 2>&1 | tee -a run.log
# extra: size of the non-RAM (device state) part of the stream
python3 devstate.py 2>&1 | tee -a run.log
