import "reflect-metadata";
import { buildSmoke } from "../../../cli/smoke.js";
const k = buildSmoke(42); k.run(5e9);
for (const s of k.metrics.allSeries()) console.log(s.name, s.unit, s.length, Math.max(...s.values()), s.times().slice(0,3));
