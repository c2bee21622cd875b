"""Paper figure: the code is mini_bptt/figures/memory_at_fixed_cost.py.

Usage: python paper_figures/memory_at_fixed_cost.py [OUT] [--quick]
"""

from mini_bptt.figures import memory_at_fixed_cost
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(memory_at_fixed_cost)
