import { parseSource } from "../dsl/parse.js";
import { seconds, type Benchmark } from "./harness.js";

/** A scenario of about `bytes` characters: hosts, links, VMs with workloads, actions and expects. */
export function generateScenario(bytes: number): string {
  const parts: string[] = ['# description: generated for the parser benchmark\nscenario "bench" {\n  seed 42\n  tick 1 ms\n'];
  let size = parts[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const h = `h${i}`;
    const next = `h${i + 1}`;
    const chunk = `  host ${h} { cpus 16  memory 64 GiB  nic 25 Gbit/s  rdma }
  link ${h} <-> ${next} { bandwidth 10 Gbit/s  latency 50 us }
  datastore san${i} { shared-by ${h}, ${next}  bandwidth 1 GB/s  latency 100 us  iops 20000 }
  vm web${i} on ${h} {
    vcpus 4  memory 4 GiB  disk san${i} 40 GiB  device-state 512 KiB  boot 20 s
    mac "02:00:00:00:01:0a"
    initial zero 20%, image "debian-12" 30%, random 40%, compressible 10% at 50%
    workload {
      writes 20_000 pages/s zipf 0.9 over 25%
      reads 80000 pages/s uniform
      writes 500 pages/s sequential
      content zero 20%, image "debian-12" 30%, random 50%
    }
  }
  at ${i}.5 s: start web${i}
  at ${i + 10} s: migrate web${i} to ${next} with precopy { bandwidth 1 Gbit/s  downtime-limit 300 ms  max-rounds 30  after demand-paging, background }
  at ${i + 12} s: web${i} writes pages 0..1023 on vcpu 1
  at ${i + 13} s: link ${h}<->${next} down  # a comment
  expect web${i}.host == ${next} and migration(web${i}).downtime < 300 ms
  expect host(${h}).memory.used within 5% of 4 GiB or not (migration(web${i}).ram.transferred < 1.5 * web${i}.memory - 2 MiB)
`;
    parts.push(chunk);
    size += chunk.length;
  }
  parts.push("  run until 120 s\n}\n");
  return parts.join("");
}

/** MB/s of parseSource over `text`, after a warm-up parse of its first MB (for the JIT). */
function parseRate(text: string): number {
  parseSource(text.slice(0, text.lastIndexOf("\n  host ", 1_000_000)) + "}\n", "warmup.vmscn");
  let diagnostics = 0;
  const secs = seconds(() => {
    diagnostics = parseSource(text, "bench.vmscn").diagnostics.length;
  });
  if (diagnostics !== 0) throw new Error(`the generated scenario has ${diagnostics} diagnostics`);
  return text.length / 1e6 / secs;
}

export const benchmarks: Benchmark[] = [
  {
    // 10 MB is far beyond a hand-written scenario (generated suites reach it); at that size
    // the tokens, the CST and the AST (about 1.6 GB together) make garbage collection a large
    // part of the time, so the 1 MB figure is given too.
    name: "dsl.parse_mb_per_s",
    unit: "MB/s",
    target: ">= 5",
    run: () => {
      // the small one first, so the large one's garbage is not collected during it
      const small = parseRate(generateScenario(1_000_000));
      return { "dsl.parse_mb_per_s": parseRate(generateScenario(10_000_000)), "dsl.parse_mb_per_s_1mb": small };
    },
  },
];
