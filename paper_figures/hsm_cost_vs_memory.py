"""Paper figure: the code is mini_bptt/figures/hsm_cost_vs_memory.py.

Usage: python paper_figures/hsm_cost_vs_memory.py [OUT] [--quick]
"""

from mini_bptt.figures import hsm_cost_vs_memory
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(hsm_cost_vs_memory)
