"""gradlab: watch gradients vanish and explode, and fix them, in plain numpy.

The package behind the book *Vanishing and Exploding Gradients*. Each submodule
holds one idea:

========================  ============================================================
``activations``           activation functions and their derivatives
``book``                  put computed values into the book's text (glue)
``clip``                  gradient clipping by value and by global norm
``data``                  synthetic data sets and standardisation
``deadunits``             dead and inactive rectifier units: measured and predicted
``diagnostics``           per-layer statistics, non-finite detection, recorders
``explorer``              the explorer page's grid: every knob measured and predicted
``fdcheck``               the error of finite differences against step and dtype
``floating``              overflow and underflow of repeated products per dtype
``folding``               folding batch normalisation into the dense layer before it
``gradcheck``             central finite-difference gradient checks
``history``               the timeline as data; the 1994 latching trade-off with one unit
``init``                  weight initialisers and gains (PyTorch's conventions)
``landscape``             loss and gradient change along a step; covariate shift
``losses``                mean squared error and softmax cross-entropy
``meanfield``             the variance map, its fixed point, chi and the edge of chaos
``nn``                    layers with forward and hand-written backward passes
``normalisation_tools``   normalised networks, running averages, batch noise
``optim``                 SGD (momentum, weight decay) and Adam
``paths``                 residual networks as sums of paths; gradient by path length
``plotting``              the book's figure style and recurring plots
``products``              products of scalars and random matrices through depth
``recurrence``            recurrent networks: BPTT, the one-unit cliff, LSTM Jacobians
``repair``                predictions for diagnosis, and a failing network repaired
``residual``              plain and residual stacks, their mean-field moments
``selfnorm``              the mean/variance map of a layer and SELU's fixed point
``symmetry``              identical units: the symmetry of constant initialisation
``train``                 a deterministic training loop with a history
========================  ============================================================

Examples
--------
>>> import gradlab
>>> sorted(gradlab.__all__)[:3]
['activations', 'book', 'clip']

A submodule is imported when it is first used (``gradlab.nn``, ``from gradlab
import nn``), so ``import gradlab`` is quick and a tool that needs one module
(the book's build reads the explorer's knobs) does not load matplotlib:

>>> gradlab.nn.__name__
'gradlab.nn'
"""

import importlib

__version__ = "0.2.1"

__all__ = [
    "activations",
    "book",
    "clip",
    "data",
    "deadunits",
    "diagnostics",
    "explorer",
    "fdcheck",
    "floating",
    "folding",
    "gradcheck",
    "history",
    "init",
    "landscape",
    "losses",
    "meanfield",
    "nn",
    "normalisation_tools",
    "optim",
    "paths",
    "plotting",
    "products",
    "recurrence",
    "repair",
    "residual",
    "selfnorm",
    "symmetry",
    "train",
]


def __getattr__(name):
    """Import the submodule ``name`` on first use (PEP 562)."""
    if name in __all__:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'gradlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
