import "reflect-metadata";
import { Hooks } from "../core/plugin-host/hooks.js";
import { FairShare } from "../core/net/fair-share.js";
import { Network } from "../core/net/network.js";
import { Scheduler } from "../core/sim/scheduler.js";
import { RandomStreams } from "../core/sim/random.js";
import { defaultRunConfig } from "../core/config.js";
import { US } from "../core/sim/time.js";
import { seconds, type Benchmark } from "./harness.js";

export const benchmarks: Benchmark[] = [
  {
    name: "net.flows_per_s",
    unit: "flows/s",
    target: "10,000 concurrent flows",
    run() {
      // 8 hosts in a ring of 10 Gbit/s links (routes of 1 to 4 hops share link directions),
      // 10,000 flows of 64 KiB to 4 MiB between random pairs, TCP and RDMA mixed. Closed loop:
      // every delivered flow starts a new one, so about 10,000 stay active throughout.
      const s = new Scheduler();
      const fs = new FairShare(s);
      const net = new Network(s, fs, defaultRunConfig(), new Hooks(s));
      const r = new RandomStreams(11).stream("net-bench");
      const hosts = ["h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7"];
      for (const h of hosts) net.addHost(h, { nicBandwidth: 2.5e9, rdma: true });
      for (let i = 0; i < hosts.length; i++) net.addLink(hosts[i]!, hosts[(i + 1) % hosts.length]!, { bandwidth: 1.25e9, latency: 5 * US });
      const concurrent = 10_000;
      const total = 200_000;
      let started = 0;
      let completed = 0;
      const startOne = (): void => {
        if (started >= total) return;
        started++;
        const from = r.int(hosts.length);
        const to = (from + 1 + r.int(hosts.length - 1)) % hosts.length;
        net.transfer({
          from: hosts[from]!,
          to: hosts[to]!,
          bytes: 65536 + r.int(4 * 1048576 - 65536),
          kind: r.int(2) === 0 ? "tcp" : "rdma",
          onDone: () => {
            completed++;
            startOne();
          },
        });
      };
      // Starts spread over the first 10 ms so the population builds up over time.
      for (let i = 0; i < concurrent; i++) s.at(r.int(10_000_000), startOne);
      const secs = seconds(() => s.run());
      if (completed !== total) throw new Error(`net bench: ${completed} of ${total} flows completed`);
      return completed / secs;
    },
  },
];
