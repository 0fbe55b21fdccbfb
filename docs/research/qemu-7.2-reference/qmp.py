#!/usr/bin/env python3
"""Minimal QMP client + one live-migration measurement run.

usage: qmp.py CASE RUN [--kernel K] [--mem 262136K] [--cap name ...]
              [--timeout S] [--port P] [--out DIR]
Starts a destination QEMU (-incoming tcp:127.0.0.1:PORT) and a source QEMU,
both with QMP on unix sockets, waits for the guest to be ready, sets
max-bandwidth=32 MiB/s and downtime-limit=300 ms, migrates, polls
query-migrate every 50 ms and saves every answer (timeline.jsonl) plus a
summary (summary.json).
"""
import argparse, json, os, socket, subprocess, sys, time

class QMP:
    def __init__(self, path, timeout=10.0):
        t_end = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > t_end:
                    raise
                time.sleep(0.05)
        self.f = self.s.makefile('rwb')
        self.events = []
        self.greeting = json.loads(self.f.readline())
        self.cmd('qmp_capabilities')

    def cmd(self, name, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.f.write(json.dumps(msg).encode() + b'\n')
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError('QMP connection closed')
            r = json.loads(line)
            if 'event' in r:
                r['_host_time'] = time.time()
                self.events.append(r)
                continue
            if 'error' in r:
                raise RuntimeError('%s: %s' % (name, r['error']))
            return r['return']

    def hmp(self, line):
        return self.cmd('human-monitor-command', **{'command-line': line})

    def xp32(self, addr):
        out = self.hmp('xp /1wx 0x%x' % addr)      # "0000000000007000: 0x00000012"
        return int(out.strip().split()[-1], 16)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

PASSES, FLAG, READY = 0x7000, 0x7004, 0x600DF111

def loadavg():
    return open('/proc/loadavg').read().split()[:3]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('case'); ap.add_argument('run', type=int)
    ap.add_argument('--kernel'); ap.add_argument('--mem', default='262136K')
    ap.add_argument('--machine', default='pc')
    ap.add_argument('--cap', action='append', default=[])
    ap.add_argument('--param', action='append', default=[],
                    help='extra migrate-set-parameters as name=int')
    ap.add_argument('--timeout', type=float, default=120)
    ap.add_argument('--ws-pages', type=int, default=16384)
    ap.add_argument('--port', type=int, default=44444)
    ap.add_argument('--out', default='results')
    a = ap.parse_args()

    d = os.path.abspath(os.path.join(a.out, '%s-run%d' % (a.case, a.run)))
    os.makedirs(d, exist_ok=True)
    base = ['qemu-system-x86_64', '-nodefaults', '-display', 'none',
            '-machine', a.machine, '-accel', 'tcg', '-smp', '1', '-m', a.mem]
    if a.kernel:
        base += ['-kernel', os.path.abspath(a.kernel)]
    for s in ('src.sock', 'dst.sock'):
        try: os.unlink(os.path.join(d, s))
        except FileNotFoundError: pass
    dst_cmd = base + ['-qmp', 'unix:%s/dst.sock,server=on,wait=off' % d,
                      '-incoming', 'tcp:127.0.0.1:%d' % a.port]
    src_cmd = base + ['-qmp', 'unix:%s/src.sock,server=on,wait=off' % d]
    summ = {'case': a.case, 'run': a.run, 'dst_cmd': dst_cmd, 'src_cmd': src_cmd,
            'caps': a.cap, 'load_before': loadavg(),
            'uptime_before': subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}
    dlog = open(os.path.join(d, 'dst.log'), 'w'); slog = open(os.path.join(d, 'src.log'), 'w')
    dst = subprocess.Popen(dst_cmd, stdout=dlog, stderr=subprocess.STDOUT)
    src = subprocess.Popen(src_cmd, stdout=slog, stderr=subprocess.STDOUT)
    summ['pids'] = {'src': src.pid, 'dst': dst.pid}
    try:
        qd = QMP(os.path.join(d, 'dst.sock'))
        qs = QMP(os.path.join(d, 'src.sock'))
        summ['src_memory_size_summary'] = qs.cmd('query-memory-size-summary')
        pass
        t_boot = time.time()
        if a.kernel:
            while qs.xp32(FLAG) != READY:
                if time.time() - t_boot > 120:
                    raise RuntimeError('guest never became ready')
                time.sleep(0.1)
            summ['guest_ready_after_s'] = time.time() - t_boot
            # writer: measure the guest's own page-write rate before migrating
            p0, t0 = qs.xp32(PASSES), time.time()
            time.sleep(3.0)
            p1, t1 = qs.xp32(PASSES), time.time()
            summ['passes_before'] = [p0, p1, t1 - t0]
            summ['guest_pages_per_s_before'] = (p1 - p0) * a.ws_pages / (t1 - t0)
        else:
            time.sleep(3.0)        # let SeaBIOS reach "no bootable device"
        summ['src_status_before'] = qs.cmd('query-status')
        summ['src_mtree_ramblocks'] = qs.hmp('info ramblock')
        if a.cap:
            qs.cmd('migrate-set-capabilities',
                   capabilities=[{'capability': c, 'state': True} for c in a.cap])
            qd.cmd('migrate-set-capabilities',
                   capabilities=[{'capability': c, 'state': True} for c in a.cap])
        params = {'max-bandwidth': 33554432, 'downtime-limit': 300}
        for p in a.param:
            k, v = p.split('='); params[k] = int(v)
        qs.cmd('migrate-set-parameters', **params)
        summ['params'] = qs.cmd('query-migrate-parameters')
        summ['capabilities'] = [c for c in qs.cmd('query-migrate-capabilities') if c['state']]
        summ['load_at_migrate'] = loadavg()
        tl = open(os.path.join(d, 'timeline.jsonl'), 'w')
        t_mig = time.time()
        summ['migrate_start_host_time'] = t_mig
        qs.cmd('migrate', uri='tcp:127.0.0.1:%d' % a.port)
        last, guest = None, []
        next_guest = t_mig
        cancelled = False
        while True:
            now = time.time()
            r = qs.cmd('query-migrate')
            # t = when the query was sent, t_reply = when the answer arrived
            # (the answer can be delayed while the migration thread holds the BQL)
            rec = {'t': round(now - t_mig, 4), 't_reply': round(time.time() - t_mig, 4), 'r': r}
            if a.kernel and 'write' in a.kernel and now >= next_guest:
                try:
                    rec['guest_passes'] = qs.xp32(PASSES)
                except Exception as e:
                    rec['guest_passes'] = str(e)
                next_guest = now + 1.0
            tl.write(json.dumps(rec) + '\n')
            last = rec
            st = r.get('status')
            if st in ('completed', 'failed', 'cancelled'):
                break
            if not cancelled and now - t_mig > a.timeout:
                summ['timed_out_at'] = now - t_mig
                summ['before_cancel'] = r
                qs.cmd('migrate_cancel')
                cancelled = True
            time.sleep(max(0.0, 0.05 - (time.time() - now)))
        tl.close()
        summ['wall_s'] = time.time() - t_mig
        summ['final'] = last['r']
        summ['load_after'] = loadavg()
        summ['src_status_after'] = qs.cmd('query-status')
        time.sleep(0.3)
        try:
            summ['dst_status_after'] = qd.cmd('query-status')
            summ['dst_migrate'] = qd.cmd('query-migrate')
            if a.kernel and summ['final'].get('status') == 'completed':
                summ['dst_flag'] = hex(qd.xp32(FLAG))
                summ['dst_passes'] = [qd.xp32(PASSES)]
                time.sleep(1.0)
                summ['dst_passes'].append(qd.xp32(PASSES))
        except Exception as e:
            summ['dst_error'] = repr(e)
        summ['src_events'] = qs.events
        summ['dst_events'] = qd.events
        for q in (qs, qd):
            try: q.cmd('quit')
            except Exception: pass
    finally:
        for p in (src, dst):
            try: p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill(); p.wait()
        json.dump(summ, open(os.path.join(d, 'summary.json'), 'w'), indent=1)
    f = summ['final']; ram = f.get('ram', {})
    print('%s run%d: %s total=%s down=%s setup=%s transferred=%s dup=%s normal=%s syncs=%s load=%s' % (
        a.case, a.run, f.get('status'), f.get('total-time'), f.get('downtime'),
        f.get('setup-time'), ram.get('transferred'), ram.get('duplicate'),
        ram.get('normal'), ram.get('dirty-sync-count'), summ['load_at_migrate']))

if __name__ == '__main__':
    main()
