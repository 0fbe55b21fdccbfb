#!/usr/bin/env python3
"""Estimate the non-RAM part of the migration stream: migrate the halted
fill-kernel guest to a file (exec:cat) and compare the file size with
ram.transferred.  usage: devstate.py [kernel]"""
import json, os, subprocess, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import QMP
k = sys.argv[1] if len(sys.argv) > 1 else 'kernel-fill.elf'
d = os.path.abspath('results/devstate'); os.makedirs(d, exist_ok=True)
sock, out = d + '/src.sock', d + '/stream.bin'
for f in (sock, out):
    if os.path.exists(f): os.unlink(f)
p = subprocess.Popen(['qemu-system-x86_64', '-nodefaults', '-display', 'none', '-machine', 'pc', '-accel', 'tcg',
                      '-smp', '1', '-m', '262136K', '-kernel', os.path.abspath(k), '-qmp', 'unix:%s,server=on,wait=off' % sock])
q = QMP(sock)
while q.xp32(0x7004) != 0x600DF111: time.sleep(0.1)
q.cmd('migrate', uri='exec:cat > ' + out)
while True:
    r = q.cmd('query-migrate')
    if r['status'] in ('completed', 'failed'): break
    time.sleep(0.05)
time.sleep(0.2)
size = os.path.getsize(out)
res = {'kernel': k, 'stream_file_bytes': size, 'ram_transferred': r['ram']['transferred'],
       'non_ram_bytes': size - r['ram']['transferred'], 'final': r}
json.dump(res, open(d + '/summary.json', 'w'), indent=1)
print(json.dumps({x: res[x] for x in ('stream_file_bytes', 'ram_transferred', 'non_ram_bytes')}), 'downtime', r['downtime'], 'total', r['total-time'])
q.cmd('quit'); p.wait()
os.unlink(out)
