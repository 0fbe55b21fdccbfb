#!/usr/bin/env python3
"""Summarise results/*/summary.json + timeline.jsonl into markdown tables."""
import glob, json, os, sys, statistics as st, collections
RES = sys.argv[1] if len(sys.argv) > 1 else 'results'
cases = collections.OrderedDict()
for d in sorted(glob.glob(RES + '/*-run*')):
    case = os.path.basename(d).rsplit('-run', 1)[0]
    cases.setdefault(case, []).append(d)
TOP = ['status', 'total-time', 'downtime', 'setup-time', 'expected-downtime', 'cpu-throttle-percentage']
RAM = ['transferred', 'remaining', 'total', 'duplicate', 'normal', 'normal-bytes', 'dirty-sync-count',
       'mbps', 'pages-per-second', 'precopy-bytes', 'downtime-bytes', 'dirty-pages-rate']
def fmt(v):
    if isinstance(v, float): return '%.1f' % v
    return str(v)
def agg(vals):
    nums = [v for v in vals if isinstance(v, (int, float))]
    if len(nums) != len(vals) or not nums:
        return ' / '.join(fmt(v) for v in vals)
    m = st.mean(nums)
    sd = st.stdev(nums) if len(nums) > 1 else 0
    if max(nums) == min(nums): return fmt(nums[0]) + ' (all equal)'
    return '%s ± %s [%s..%s]' % (fmt(float(m)), fmt(float(sd)), fmt(min(nums)), fmt(max(nums)))
out = []
for case, dirs in cases.items():
    S = [json.load(open(d + '/summary.json')) for d in dirs]
    fin = []
    for s in S:
        f = s['final']
        if f.get('status') == 'cancelled' and 'before_cancel' in s:
            f = dict(s['before_cancel']); f['status'] = 'active→cancelled@%.0fs' % s['timed_out_at']
        fin.append(f)
    out.append('\n### %s  (%d runs; caps: %s)\n' % (case, len(S), ','.join(S[0]['caps']) or 'none'))
    out.append('| field | runs 1..3 | mean ± sd [min..max] |\n|---|---|---|')
    rows = [(k, [f.get(k) for f in fin]) for k in TOP] + [('ram.' + k, [f.get('ram', {}).get(k) for f in fin]) for k in RAM]
    def stop_resume(s):
        ts = lambda e: e['timestamp']['seconds'] + e['timestamp']['microseconds'] / 1e6
        a = [ts(e) for e in s.get('src_events', []) if e['event'] == 'STOP']
        b = [ts(e) for e in s.get('dst_events', []) if e['event'] == 'RESUME']
        return round((b[0] - a[0]) * 1000, 1) if a and b else None
    rows.append(('src STOP event → dst RESUME event, ms (QEMU event timestamps)', [stop_resume(s) for s in S]))
    rows.append(('load avg (1 min) at migrate', [float(s['load_at_migrate'][0]) for s in S]))
    if 'guest_pages_per_s_before' in S[0]:
        rows.append(('guest page-writes/s before migration (no dirty logging)', [s['guest_pages_per_s_before'] for s in S]))
    for k, vals in rows:
        if all(v is None for v in vals): continue
        out.append('| %s | %s | %s |' % (k, ' / '.join(fmt(v) for v in vals), agg(vals)))
    # timeline: dirty-sync-count changes
    out.append('\nSync timeline (time in s after `migrate` was sent, taken when the first answer showing the new dirty-sync-count arrived; remaining bytes in that answer):\n')
    for d, s in zip(dirs, S):
        prev, ev = None, []
        passes = []
        for l in open(d + '/timeline.jsonl'):
            r = json.loads(l); ram = r['r'].get('ram', {}); c = ram.get('dirty-sync-count')
            if isinstance(r.get('guest_passes'), int): passes.append((r['t'], r['guest_passes']))
            if c is not None and c != prev:
                thr = r['r'].get('cpu-throttle-percentage')
                ev.append('%d@%.2f(rem %d%s)' % (c, r.get('t_reply', r['t']), ram.get('remaining', -1), ', thr %d' % thr if thr else ''))
                prev = c
        thr_ev, pthr = [], None
        for l in open(d + '/timeline.jsonl'):
            r = json.loads(l); thr = r['r'].get('cpu-throttle-percentage')
            if thr is not None and thr != pthr:
                thr_ev.append('%d%%@%.2fs(sync %s)' % (thr, r.get('t_reply', r['t']), r['r']['ram']['dirty-sync-count'])); pthr = thr
        if len(ev) > 14: ev = ev[:7] + ['…'] + ev[-6:]
        out.append('- run%d: %s' % (s['run'], ', '.join(ev)))
        if thr_ev:
            out.append('  - throttle first seen: ' + ', '.join(thr_ev))
        if len(passes) > 2:
            (t0, p0), (t1, p1) = passes[0], passes[-1]
            ws = S[0].get('passes_before') and (s['guest_pages_per_s_before'] * s['passes_before'][2] / max(1, s['passes_before'][1] - s['passes_before'][0]))
            out.append('  - guest passes during migration: %d over %.1f s = %.0f passes/s ≈ %.0f page-writes/s' % (
                p1 - p0, t1 - t0, (p1 - p0) / (t1 - t0), (p1 - p0) / (t1 - t0) * ws))
        if 'dst_passes' in s:
            out.append('  - destination after completion: flag %s, pass counter %s read 1 s apart (%s)' % (s['dst_flag'], s['dst_passes'],
                'writer keeps running on dst' if s['dst_passes'][1] > s['dst_passes'][0] else 'fill kernel halted, as expected'))
print('\n'.join(out))
