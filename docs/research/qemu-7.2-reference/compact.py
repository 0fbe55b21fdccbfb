#!/usr/bin/env python3
"""One-line-per-case summary (mean ± sd over runs).  usage: compact.py [results-dir]"""
import glob, json, os, sys, statistics as st, collections
RES = sys.argv[1] if len(sys.argv) > 1 else 'results'
cases = collections.OrderedDict()
for d in sorted(glob.glob(RES + '/*-run*')):
    cases.setdefault(os.path.basename(d).rsplit('-run', 1)[0], []).append(json.load(open(d + '/summary.json')))
def ms(v):
    if len(set(v)) == 1: return str(v[0])
    return '%.0f ± %.0f' % (st.mean(v), st.stdev(v)) if st.mean(v) >= 100 else '%.1f ± %.1f' % (st.mean(v), st.stdev(v))
print('| case | status | total-time ms | setup-time ms | downtime ms | STOP→RESUME ms | syncs | transferred B | precopy-bytes B | downtime-bytes B | duplicate | normal | expected-downtime ms | throttle % | load (1-min) |')
print('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
for c, S in cases.items():
    F = []
    for s in S:
        f = s['final']
        if f.get('status') == 'cancelled': f = s['before_cancel']; f['status'] = 'not converged (cancelled at 60 s)'
        F.append(f)
    ts = lambda e: e['timestamp']['seconds'] + e['timestamp']['microseconds'] / 1e6
    sr = []
    for s in S:
        a = [ts(e) for e in s['src_events'] if e['event'] == 'STOP']; b = [ts(e) for e in s['dst_events'] if e['event'] == 'RESUME']
        if a and b: sr.append((b[0] - a[0]) * 1000)
    g = lambda k: [f.get(k) for f in F]; r = lambda k: [f['ram'][k] for f in F]
    print('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
        c, F[0]['status'], ms(g('total-time')), ms(g('setup-time')),
        ms(g('downtime')) if F[0].get('downtime') is not None else '–', ms(sr) if sr else '–',
        ms(r('dirty-sync-count')), ms(r('transferred')), ms(r('precopy-bytes')), ms(r('downtime-bytes')),
        ms(r('duplicate')), ms(r('normal')), ms(g('expected-downtime')) if F[0].get('expected-downtime') is not None else '–',
        ms(g('cpu-throttle-percentage')) if F[0].get('cpu-throttle-percentage') is not None else '–',
        ms([float(s['load_at_migrate'][0]) for s in S])))
