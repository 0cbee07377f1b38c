import sys, time, numpy as np
from spark_snn import engine
from spark_snn.engine.partition_sim import PartitionedSimulation
g = engine.load("resources/examples/benchmark_7pools.json")
pools=[f"pool{i}.spikes" for i in range(7)]
N=int(sys.argv[2]) if len(sys.argv)>2 else 1000
one = engine.Simulation(g, count=pools)
t0=time.perf_counter(); one.advance(N, chunk=500); t1=time.perf_counter()
ps = PartitionedSimulation(g, devices=int(sys.argv[1]), count=pools)
t2=time.perf_counter(); ps.advance(N, chunk=500); t3=time.perf_counter()
print(ps.model.kind)
print("one", t1-t0, "part", t3-t2)
for p in pools: print(p, one.totals[p].sum(), ps.totals[p].sum(), np.array_equal(one.totals[p], ps.totals[p]))
