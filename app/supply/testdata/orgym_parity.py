"""Writes orgym_parity.json: per-period rewards of OR-Gym's NetworkManagement
environment (NetInvMgmtMasterEnv, backlog and lost-sales variants) on a fixed
demand path and a fixed sequence of reorder actions.

It runs OR-Gym's own published source, unchanged:
  github.com/hubbs5/or-gym, commit 0b18d16e569e2db70e83f09e867b53bdb4b87298,
  or_gym/envs/supply_chain/network_management.py
with stand-ins only for what the environment imports but does not use in
reset/step (gym.Env, gym.spaces.Box, matplotlib) and for or_gym.utils'
assign_env_config (copied from the same commit).

Usage (Debian: apt-get install python3-numpy python3-pandas python3-scipy python3-networkx):
  python3 orgym_parity.py /path/to/network_management.py > orgym_parity.json
The Go test (TestORGymParity) reads the JSON; Python is not needed to run it.
"""
import json
import sys
import types

import numpy as np

# --- stand-ins for imports the environment does not use in reset/step ---
gym = types.ModuleType("gym")
class _Env:  # gym.Env is only a base class here
    pass
class _Box:
    def __init__(self, low, high, dtype=None):
        self.low, self.high = low, high
gym.Env = _Env
gym.spaces = types.SimpleNamespace(Box=_Box)
sys.modules["gym"] = gym
mpl = types.ModuleType("matplotlib"); mpl.pyplot = types.ModuleType("matplotlib.pyplot")
sys.modules["matplotlib"] = mpl; sys.modules["matplotlib.pyplot"] = mpl.pyplot
org = types.ModuleType("or_gym"); utils = types.ModuleType("or_gym.utils")
def assign_env_config(self, kwargs):  # or_gym/utils.py at the same commit
    for key, value in kwargs.items():
        setattr(self, key, value)
    if hasattr(self, 'env_config'):
        for key, value in self.env_config.items():
            if hasattr(self, key):
                if type(getattr(self, key)) == np.ndarray:
                    setattr(self, key, value)
                else:
                    setattr(self, key, type(getattr(self, key))(value))
            else:
                raise AttributeError(f"{self} has no attribute, {key}")
utils.assign_env_config = assign_env_config
org.utils = utils
sys.modules["or_gym"] = org; sys.modules["or_gym.utils"] = utils

src = open(sys.argv[1]).read()
mod = types.ModuleType("network_management")
exec(compile(src, sys.argv[1], "exec"), mod.__dict__)

T = 30
rs = np.random.RandomState(3)
demand = [int(x) for x in rs.poisson(20, T)]
links = [(2,1),(3,1),(4,2),(4,3),(5,2),(6,2),(6,3),(7,4),(7,5),(8,5),(8,6)]
# Bounds per link: single-buyer links may ask for more than the supplier
# has (so OR-Gym's capping is exercised); the two factories with two buyers
# (4 and 6) are asked for at most their capacity in total, because OR-Gym
# caps each link separately and the Go engine caps the factory as a whole.
hi = {(2,1): 30, (3,1): 30, (4,2): 45, (4,3): 45, (5,2): 130, (6,2): 40, (6,3): 40,
      (7,4): 110, (7,5): 70, (8,5): 70, (8,6): 100}
ra = np.random.RandomState(11)
actions = [[int(ra.randint(0, hi[l] + 1)) for l in links] for _ in range(T)]
for t in range(6, 13):  # the retailer under-orders for a while: stock-outs, then backlog or lost sales
    actions[t][0], actions[t][1] = 2, 3

out = {"source": "github.com/hubbs5/or-gym@0b18d16e569e2db70e83f09e867b53bdb4b87298 or_gym/envs/supply_chain/network_management.py",
       "demand": demand, "links": [list(l) for l in links], "actions": actions}
for name, backlog in (("backlog", True), ("lost_sales", False)):
    env = mod.NetInvMgmtMasterEnv(user_D={(1,0): np.array(demand, dtype=float)}, backlog=backlog)
    env.reset()
    rewards, inv = [], []
    for t in range(T):
        # The premise of the comparison: a factory with two buyers is never
        # asked for more than it can ship.
        for f, ls in ((4, [(4,2),(4,3)]), (6, [(6,2),(6,3)])):
            asked = sum(actions[t][links.index(l)] for l in ls)
            can = min(env.graph.nodes[f]['C'], env.X.loc[t, f])
            assert asked <= can, (t, f, asked, can)
        _, r, done, _ = env.step(actions[t])
        rewards.append(float(r))
        inv.append([float(env.X.loc[t+1, j]) for j in env.main_nodes])
    out[name] = {"rewards": rewards, "inventory": inv,
                 "unfulfilled": [float(x) for x in env.U[(1,0)].values]}
json.dump(out, sys.stdout, indent=1)
print()
