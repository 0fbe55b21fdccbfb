#!/bin/sh
# Build the two guest kernels. RAM_BYTES must match the -m given to QEMU.
set -e
cd "$(dirname "$0")"
RAM_BYTES=${RAM_BYTES:-268427264}          # 262136 KiB = 256 MiB - 8 KiB
FILL_END=$(( RAM_BYTES * 9 / 10 / 4096 * 4096 ))   # fill up to 90% of RAM
WS_SIZE=${WS_SIZE:-67108864}               # 64 MiB working set for the writer
CF="-m32 -ffreestanding -nostdlib -nostdinc -fno-pic -fno-pie -DFILL_END=$FILL_END -DWS_SIZE=$WS_SIZE"
gcc $CF -c kernel.S -o kernel-fill.o
gcc $CF -DWRITER -c kernel.S -o kernel-write.o
ld -m elf_i386 -T kernel.ld -o kernel-fill.elf kernel-fill.o
ld -m elf_i386 -T kernel.ld -o kernel-write.elf kernel-write.o
echo "RAM_BYTES=$RAM_BYTES FILL_END=$FILL_END WS_SIZE=$WS_SIZE"
# extra writers with small working sets (they fit under the downtime threshold)
for WS in 4 8; do
  gcc $CF -UWS_SIZE -DWS_SIZE=$((WS*1048576)) -DWRITER -c kernel.S -o kernel-write-ws${WS}M.o
  ld -m elf_i386 -T kernel.ld -o kernel-write-ws${WS}M.elf kernel-write-ws${WS}M.o
done
