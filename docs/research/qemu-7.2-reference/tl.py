#!/usr/bin/env python3
"""Print the polled timeline of one run, one line per dirty-sync-count change
(and per guest-counter sample).  usage: tl.py results/<case>-runN"""
import json, sys
prev = object()
for l in open(sys.argv[1] + '/timeline.jsonl'):
    r = json.loads(l); m = r['r']; ram = m.get('ram', {})
    key = (m['status'], ram.get('dirty-sync-count'), m.get('cpu-throttle-percentage'))
    if key != prev or 'guest_passes' in r:
        print('t=%7.3f reply=%7.3f %-9s sync=%-3s xfer=%-10s remain=%-10s dup=%-6s normal=%-7s dpr=%-6s exp_dt=%-5s pps=%-5s thr=%-3s passes=%s' % (
            r['t'], r.get('t_reply', r['t']), m['status'], ram.get('dirty-sync-count'), ram.get('transferred'), ram.get('remaining'),
            ram.get('duplicate'), ram.get('normal'), ram.get('dirty-pages-rate'), m.get('expected-downtime'),
            ram.get('pages-per-second'), m.get('cpu-throttle-percentage'), r.get('guest_passes', '')))
    prev = key
