"""Cells: hand-written forward and backward of one RNN/LSTM step, the loss heads, full BPTT.
Imports only ``mini_bptt.common`` (argument checks, resource limits) and NumPy.
Entry points: ``RNNCell``, ``LSTMCell``, ``MSEHead``, ``SoftmaxHead``, ``full_bptt``."""

from mini_bptt.cells.base import Cell
from mini_bptt.cells.bptt import full_bptt
from mini_bptt.cells.heads import Head, MSEHead, SoftmaxHead
from mini_bptt.cells.lstm import LSTMCell
from mini_bptt.cells.result import Result
from mini_bptt.cells.rnn import RNNCell

__all__ = ["Cell", "Head", "LSTMCell", "MSEHead", "RNNCell", "Result", "SoftmaxHead", "full_bptt"]
