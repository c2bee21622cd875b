"""Paper figure: the code is mini_bptt/figures/lstm_experiment.py.

Usage: python paper_figures/lstm_experiment.py [OUT] [--quick]
"""

from mini_bptt.figures import lstm_experiment
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(lstm_experiment)
